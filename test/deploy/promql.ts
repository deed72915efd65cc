/**
 * Just enough PromQL reading to tell which metric families an expression refers to, so that the
 * alert rules and the dashboard can be checked against what scopegate exports.
 */
import { Metrics } from '../../proxy/observability/metrics.js';
import { WorkerMetrics } from '../../proxy/observability/worker-metrics.js';

/** PromQL aggregation operators and functions (Prometheus 3). */
const FUNCTIONS = new Set([
  // aggregation operators
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  // functions
  'abs',
  'absent',
  'absent_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'delta',
  'deriv',
  'double_exponential_smoothing',
  'exp',
  'floor',
  'histogram_avg',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'info',
  'irate',
  'label_join',
  'label_replace',
  'ln',
  'log2',
  'log10',
  'minute',
  'month',
  'predict_linear',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sort',
  'sort_desc',
  'sort_by_label',
  'sort_by_label_desc',
  'sqrt',
  'time',
  'timestamp',
  'vector',
  'year',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'mad_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'cos',
  'cosh',
  'sin',
  'sinh',
  'tan',
  'tanh',
  'deg',
  'rad',
  'pi',
  'start',
  'end',
]);

/** Keywords that may stand alone between operands. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

export interface ExtractedNames {
  metrics: string[];
  /** Identifiers called like functions that PromQL does not know. */
  unknownFunctions: string[];
}

/** Metric names referenced by a PromQL expression (deduplicated, in order of appearance). */
export function extractMetricNames(expr: string): ExtractedNames {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const metrics: string[] = [];
  const unknownFunctions: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.$:])[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const name = match[0].replace(/\s*\($/, '');
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (match[1] !== undefined) {
      if (!FUNCTIONS.has(name.toLowerCase()) && !unknownFunctions.includes(name)) {
        unknownFunctions.push(name);
      }
      continue;
    }
    if (!metrics.includes(name)) metrics.push(name);
  }
  return { metrics, unknownFunctions };
}

/** Metric family name → Prometheus type, for everything a scopegate process exports. */
export async function exportedFamilies(): Promise<Map<string, string>> {
  const metrics = new Metrics();
  // The primary's own, when workers run: in the same scrape.
  new WorkerMetrics(metrics.registry);
  const names = await metrics.metricNames();
  const families = await metrics.registry.getMetricsAsJSON();
  const types = new Map(families.map((family) => [family.name, String(family.type)]));
  return new Map(names.map((name) => [name, types.get(name) ?? 'unknown']));
}

/** Series names that no exported family produces (histograms add _bucket, _sum and _count). */
export function unknownMetrics(
  names: readonly string[],
  families: ReadonlyMap<string, string>,
): string[] {
  return names.filter((name) => {
    if (families.has(name)) return false;
    const suffix = /_(bucket|sum|count)$/.exec(name);
    if (!suffix) return true;
    const type = families.get(name.slice(0, suffix.index));
    if (type === 'histogram') return false;
    return !(type === 'summary' && suffix[1] !== 'bucket');
  });
}
