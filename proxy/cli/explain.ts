/**
 * `scopegate explain`: answers "why was my scope dropped?" by running the same decision the token
 * endpoint runs, for given granted and requested scopes, and printing every verdict.
 */
import { loadConfigFile } from '../../config/load.js';
import { type Decision, ScopeDecider } from '../scope/decider.js';
import { parseScopeParameter } from '../scope/grammar.js';
import { ScopePolicies } from '../scope/policies.js';

export interface ExplainArgs {
  config?: string;
  client?: string;
  grant?: string;
  granted?: string;
  requested?: string;
  audience?: string;
  claims?: string;
  json?: boolean;
}

function scopes(label: string, value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = parseScopeParameter(value.trim().replace(/\s+/g, ' '));
  if (!parsed.ok) throw new Error(`--${label}: ${parsed.reason}`);
  return parsed.scopes;
}

export function formatDecision(
  decision: Decision,
  onUnauthorized: 'reject' | 'drop',
  requested: readonly string[] | undefined,
): string {
  const lines: string[] = [];
  if (requested === undefined) lines.push('nothing requested: every granted scope is considered');
  for (const verdict of decision.verdicts) {
    const mark = verdict.allowed ? 'ALLOW' : 'DENY ';
    lines.push(`${mark} ${verdict.scope}`);
    if (verdict.coveredBy !== undefined) {
      const params = verdict.params?.length ? ` params ${JSON.stringify(verdict.params)}` : '';
      lines.push(`      covered by granted ${verdict.coveredBy}${params}`);
    }
    for (const template of verdict.policy?.matched ?? []) {
      const params = verdict.policy?.params[template] ?? [];
      lines.push(`      policy ${template} matched, params ${JSON.stringify(params)}`);
    }
    if (!verdict.allowed) lines.push(`      ${verdict.reason}: ${verdict.detail}`);
  }
  const refused = decision.refused.length > 0;
  if (refused && (onUnauthorized === 'reject' || decision.issued.length === 0)) {
    lines.push(`result: 400 invalid_scope (tokens.on_unauthorized_scope: ${onUnauthorized})`);
  } else {
    lines.push(`result: token scope "${decision.issued.join(' ')}"`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runExplain(args: ExplainArgs): Promise<number> {
  const problems: string[] = [];
  if (!args.config) problems.push('--config FILE is required');
  if (!args.grant) problems.push('--grant TYPE is required');
  if (args.granted === undefined) problems.push('--granted "..." is required');
  if (problems.length > 0 || !args.config || !args.grant) {
    process.stderr.write(`scopegate explain: ${problems.join('; ')}\n`);
    return 2;
  }
  const loaded = await loadConfigFile(args.config);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.errors.join('\n')}\n`);
    return 1;
  }
  let claims: Record<string, unknown> = {};
  if (args.claims !== undefined) {
    const parsed: unknown = JSON.parse(args.claims);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      process.stderr.write('scopegate explain: --claims must be a JSON object\n');
      return 2;
    }
    claims = parsed as Record<string, unknown>;
  }
  const { config } = loaded.loaded;
  const requested = scopes('requested', args.requested);
  const decider = new ScopeDecider(new ScopePolicies(config.scopes));
  const decision = decider.decide({
    requested,
    granted: scopes('granted', args.granted) ?? [],
    clientId: args.client,
    grantType: args.grant,
    audience: args.audience ? [args.audience] : [],
    claims,
  });
  if (args.json) {
    process.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
  } else {
    process.stdout.write(formatDecision(decision, config.tokens.on_unauthorized_scope, requested));
  }
  return 0;
}
