/**
 * The Prometheus alert rules and the Grafana dashboard: structure, and every metric their PromQL
 * refers to is one scopegate actually exports.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { anchorsOf } from '../support/markdown.js';
import {
  deployPath,
  hasPromtool,
  isRecord,
  RUNBOOK_BASE,
  readText,
  readYaml,
} from './artifacts.js';
import { exportedFamilies, extractMetricNames, unknownMetrics } from './promql.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
}

interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

let families = new Map<string, string>();
beforeAll(async () => {
  families = await exportedFamilies();
});

/** Unknown metrics and functions of each expression, keyed by where it comes from. */
function problemsOf(exprs: ReadonlyMap<string, string>): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  for (const [where, expr] of exprs) {
    const { metrics, unknownFunctions } = extractMetricNames(expr);
    const found = [
      ...unknownMetrics(metrics, families).map((name) => `unknown metric ${name}`),
      ...unknownFunctions.map((name) => `unknown function ${name}`),
    ];
    if (metrics.length === 0) found.push('references no metric');
    if (found.length > 0) problems[where] = found;
  }
  return problems;
}

function referencedFamilies(exprs: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const expr of exprs) {
    for (const name of extractMetricNames(expr).metrics) {
      out.add(families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''));
    }
  }
  return out;
}

/** GitHub-style heading anchors of a markdown file. */

describe('PromQL metric extraction', () => {
  it('finds metric names and skips functions, keywords, labels and durations', () => {
    const expr = `histogram_quantile(0.99, sum by (le, route) (rate(
      scopegate_upstream_request_duration_seconds_bucket{route=~"token|jwks", job="x"}[5m])))
      > 2 and on (job) scopegate_ready == 1 unless ignoring (kid) group_left
      max without (instance) (scopegate_signing_key_info{status="active"} offset 1h) * 1e3`;
    expect(extractMetricNames(expr)).toEqual({
      metrics: [
        'scopegate_upstream_request_duration_seconds_bucket',
        'scopegate_ready',
        'scopegate_signing_key_info',
      ],
      unknownFunctions: [],
    });
  });

  it('reads a parenthesised operand after a binary keyword as an expression', () => {
    const expr = 'scopegate_config_generation unless on (job) (scopegate_ready == bool 1)';
    expect(extractMetricNames(expr)).toEqual({
      metrics: ['scopegate_config_generation', 'scopegate_ready'],
      unknownFunctions: [],
    });
  });

  it('handles Grafana variables inside selectors and ranges', () => {
    const expr = 'sum(rate(scopegate_token_requests_total{job=~"$job"}[$__rate_interval]))';
    expect(extractMetricNames(expr).metrics).toEqual(['scopegate_token_requests_total']);
  });

  it('flags a made-up metric and a made-up function', () => {
    const fake = 'sum(rate(scopegate_made_up_total{outcome="x"}[5m])) / frobnicate(up_and_down)';
    const { metrics, unknownFunctions } = extractMetricNames(fake);
    expect(metrics).toEqual(['scopegate_made_up_total', 'up_and_down']);
    expect(unknownFunctions).toEqual(['frobnicate']);
    expect(unknownMetrics(metrics, families)).toEqual(['scopegate_made_up_total', 'up_and_down']);
    expect(problemsOf(new Map([['fake', fake]]))).toEqual({
      fake: [
        'unknown metric scopegate_made_up_total',
        'unknown metric up_and_down',
        'unknown function frobnicate',
      ],
    });
  });

  it('accepts histogram series suffixes only on histograms', () => {
    expect(families.get('scopegate_reissue_duration_seconds')).toBe('histogram');
    expect(
      unknownMetrics(
        [
          'scopegate_reissue_duration_seconds_bucket',
          'scopegate_reissue_duration_seconds_sum',
          'scopegate_reissue_duration_seconds_count',
          'scopegate_ready_bucket',
          'scopegate_token_requests_total_count',
        ],
        families,
      ),
    ).toEqual(['scopegate_ready_bucket', 'scopegate_token_requests_total_count']);
  });
});

describe('deploy/prometheus/alerts.yaml', () => {
  const file = deployPath('prometheus', 'alerts.yaml');
  const rules = readYaml(file) as RuleFile;
  const alerts = rules.groups.flatMap((group) => group.rules);

  it('is a rule file with named groups of alerts', () => {
    expect(Array.isArray(rules.groups)).toBe(true);
    expect(rules.groups.length).toBeGreaterThan(0);
    for (const group of rules.groups) {
      expect(group.name).toMatch(/^scopegate-/);
      expect(group.rules.length).toBeGreaterThan(0);
    }
    const names = alerts.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every alert a duration, a severity, a summary, a description and a runbook', () => {
    const anchors = anchorsOf(readText(deployPath('README.md')));
    // Absolute (Alertmanager resolves no relative link), all from one base an operator sets once.
    const bases = new Set(
      alerts.map((rule) => (rule.annotations?.runbook_url ?? '').split('#')[0]),
    );
    expect([...bases]).toEqual([RUNBOOK_BASE]);
    for (const rule of alerts) {
      const name = rule.alert ?? '(no name)';
      expect(rule.alert, name).toMatch(/^Scopegate[A-Z]\w+$/);
      expect(rule.for, name).toMatch(/^(?:\d+[smhdwy])+$/);
      expect(['critical', 'warning', 'info'], name).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, name).toBeTruthy();
      expect(rule.annotations?.description, name).toBeTruthy();
      const runbook = rule.annotations?.runbook_url ?? '';
      expect(runbook, name).toBe(`${RUNBOOK_BASE}#${name.toLowerCase()}`);
      expect(anchors.has(name.toLowerCase()), `README section for ${name}`).toBe(true);
    }
  });

  it('covers the failure modes an operator must hear about', () => {
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'ScopegateTokenErrorRatioHigh',
        'ScopegateUpstreamTokenVerifyFailures',
        'ScopegateUpstreamLatencyHigh',
        'ScopegateUpstreamJwksFetchErrors',
        'ScopegateServingStaleUpstreamJwks',
        'ScopegateConfigReloadFailed',
        'ScopegateInstanceNotReady',
        'ScopegateNoActiveSigningKey',
        'ScopegateLogLinesDropped',
        'ScopegateRedisErrors',
        'ScopegateUpstreamRateLimited',
      ]),
    );
    const errorRatio = alerts.find((rule) => rule.alert === 'ScopegateTokenErrorRatioHigh');
    for (const outcome of ['upstream_error', 'verify_failed', 'sign_failed']) {
      expect(errorRatio?.expr).toContain(outcome);
    }
  });

  it('refers only to metrics scopegate exports', () => {
    const exprs = new Map(alerts.map((rule) => [rule.alert ?? rule.record ?? '?', rule.expr]));
    expect(problemsOf(exprs)).toEqual({});
    const referenced = referencedFamilies(exprs.values());
    expect(referenced.size).toBeGreaterThan(0);
    expect([...referenced]).toEqual(
      expect.arrayContaining([
        'scopegate_token_requests_total',
        'scopegate_upstream_request_duration_seconds',
        'scopegate_upstream_jwks_fetches_total',
        'scopegate_config_reloads_total',
        'scopegate_ready',
        'scopegate_signing_key_info',
      ]),
    );
  });

  // CI installs promtool (.ci/run): there a missing one is a failure, not a skip.
  const runPromtool = hasPromtool || process.env.CI === 'true';
  it.skipIf(!runPromtool)(
    `passes promtool check rules${runPromtool ? '' : ' [SKIPPED: promtool is not installed]'}`,
    () => {
      expect(() => execFileSync('promtool', ['check', 'rules', file])).not.toThrow();
    },
  );

  it.skipIf(!runPromtool)(
    `passes its promtool unit tests (alerts.test.yaml)${runPromtool ? '' : ' [SKIPPED: promtool is not installed]'}`,
    () => {
      const tests = deployPath('prometheus', 'alerts.test.yaml');
      const output = execFileSync('promtool', ['test', 'rules', tests], { encoding: 'utf8' });
      expect(output).toContain('SUCCESS');
    },
  );

  it('has a unit test for each alert on dropped log lines, Redis errors and upstream 429s', () => {
    const tests = readYaml(deployPath('prometheus', 'alerts.test.yaml')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test: Array<{ alertname: string }> }>;
    };
    expect(tests.rule_files).toEqual(['alerts.yaml']);
    const tested = new Set(
      tests.tests.flatMap((test) => test.alert_rule_test.map((rule) => rule.alertname)),
    );
    for (const name of [
      'ScopegateLogLinesDropped',
      'ScopegateRedisErrors',
      'ScopegateUpstreamRateLimited',
    ]) {
      expect(tested.has(name), name).toBe(true);
    }
  });
});

describe('deploy/grafana/scopegate-dashboard.json', () => {
  const dashboard = JSON.parse(
    readText(deployPath('grafana', 'scopegate-dashboard.json')),
  ) as Dashboard;
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const dataPanels = panels.filter((panel) => panel.type !== 'row');
  const targets = dataPanels.flatMap((panel) =>
    (panel.targets ?? []).map((target, index) => ({ panel, target, index })),
  );

  it('is a dashboard with a stable uid and a modern schema', () => {
    expect(isRecord(dashboard)).toBe(true);
    expect(dashboard.uid).toBe('scopegate');
    expect(dashboard.title).toBe('scopegate');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
  });

  it('takes its Prometheus data source from a variable', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable?.query).toBe('prometheus');
    const reference = `\${${variable?.name}}`;
    for (const panel of dataPanels) {
      expect(panel.datasource?.uid, panel.title).toBe(reference);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    for (const { panel, target } of targets) {
      expect(target.datasource?.uid ?? reference, panel.title).toBe(reference);
    }
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
      expect(v.datasource?.uid, v.name).toBe(reference);
    }
  });

  it('has the panels an operator looks for', () => {
    const titles = dataPanels.map((panel) => panel.title.toLowerCase());
    for (const wanted of [
      'token requests by outcome',
      'error ratio',
      'scopes removed',
      'upstream latency',
      'reissue latency',
      'jwks fetches',
      'cache hit ratio',
      'in-flight',
      'config reloads',
      'signing keys',
      'memory',
      'cpu',
      'event loop lag',
    ]) {
      expect(
        titles.some((title) => title.includes(wanted)),
        wanted,
      ).toBe(true);
    }
  });

  it('refers only to metrics scopegate exports', () => {
    const exprs = new Map(
      targets.map(({ panel, target, index }) => [`${panel.title} #${index}`, target.expr ?? '']),
    );
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      if (variable.type !== 'query' || query === undefined) continue;
      // Grafana's label_values(SELECTOR, LABEL): the selector is PromQL, the label is not.
      const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1];
      expect(selector, variable.name).toBeDefined();
      exprs.set(`variable ${variable.name}`, selector!);
    }
    expect(problemsOf(exprs)).toEqual({});
    expect([...referencedFamilies(exprs.values())]).toEqual(
      expect.arrayContaining([
        'scopegate_token_requests_total',
        'scopegate_scopes_removed_total',
        'scopegate_upstream_request_duration_seconds',
        'scopegate_reissue_duration_seconds',
        'scopegate_upstream_jwks_fetches_total',
        'scopegate_cache_hits_total',
        'scopegate_cache_misses_total',
        'scopegate_in_flight_requests',
        'scopegate_config_reloads_total',
        'scopegate_signing_key_info',
        'process_resident_memory_bytes',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_p99_seconds',
      ]),
    );
  });
});
