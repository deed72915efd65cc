/**
 * `scopegate explain`: answers "why was my scope refused?" by running the decision the token
 * endpoint runs (same config, same policies, no cache) for given granted and requested scopes,
 * and printing, per scope, the verdict, the grant that covers it with its parameters, every policy
 * that governs it with each check, and what the token would carry.
 */
import { loadConfigFile } from '../../config/load.js';
import { type Config, GRANT_TYPES } from '../../config/schema.js';
import { exchangeNotes, isExchangeGrant } from '../endpoints/token/exchange/explain-exchange.js';
import { clientRuleFor } from '../issued/client-rule.js';
import { type TokenProfile, tokenProfileFor } from '../issued/token-profile.js';
import { type Decision, ScopeDecider, type ScopeVerdict } from '../scope/decider.js';
import { parseScopeParameter } from '../scope/grammar.js';
import { ScopePolicies } from '../scope/policies.js';
import { upstreamScope } from '../scope/upstream-scope.js';
import { EXIT } from './usage.js';

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

export interface ExplainOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** The same words the token endpoint uses in its 400 invalid_scope. */
const REFUSAL = 'the requested scope is not permitted: ';

class UsageError extends Error {}

function scopes(label: string, value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = parseScopeParameter(value.trim().replace(/\s+/g, ' '));
  if (!parsed.ok) throw new UsageError(`--${label}: ${parsed.reason}`);
  return parsed.scopes;
}

function parseClaims(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--claims is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--claims must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

const json = (value: unknown) => JSON.stringify(value);

function verdictLines(verdict: ScopeVerdict): string[] {
  const reason = verdict.allowed
    ? ''
    : `  (${verdict.reason === 'policy' ? 'policy' : 'not granted'})`;
  const lines = [`${verdict.allowed ? 'ALLOW' : 'DENY '} ${verdict.scope}${reason}`];
  if (verdict.coveredBy === undefined) {
    lines.push(`      ${verdict.detail}`);
    return lines;
  }
  if (verdict.coveredBy === verdict.scope) {
    lines.push('      granted as is');
  } else {
    lines.push(
      `      covered by granted template ${verdict.coveredBy}, params ${json(verdict.params)}`,
    );
  }
  const matches = verdict.policy?.matches ?? [];
  if (matches.length === 0) lines.push('      no policy governs it');
  for (const match of matches) {
    const params =
      match.params === null
        ? 'parameters unknown (the scope is broader)'
        : `params ${json(match.params)}`;
    lines.push(`      policy ${match.template}, ${params}: ${match.passed ? 'passed' : 'FAILED'}`);
    if (match.checks.length === 0) lines.push('        (no rules)');
    for (const check of match.checks) {
      lines.push(
        `        ${check.passed ? 'ok  ' : 'FAIL'} ${check.rule}${check.passed ? '' : `: ${check.detail}`}`,
      );
    }
  }
  return lines;
}

/** The human-readable explanation of one decision. */
export function formatDecision(
  decision: Decision,
  onUnauthorized: 'reject' | 'drop',
  requested: readonly string[] | undefined,
): string {
  const lines: string[] = [];
  if (requested === undefined) {
    lines.push('nothing requested: every granted scope is considered', '');
  }
  for (const verdict of decision.verdicts) lines.push(...verdictLines(verdict));
  lines.push('');
  const carried = `"${decision.issued.join(' ')}"`;
  const refusedNames = decision.refused.map((verdict) => verdict.scope).join(' ');
  if (
    decision.refused.length > 0 &&
    (onUnauthorized === 'reject' || decision.issued.length === 0)
  ) {
    lines.push(
      `result: 400 invalid_scope "${REFUSAL}${refusedNames}" (tokens.on_unauthorized_scope: ${onUnauthorized})`,
    );
    if (decision.issued.length > 0) {
      lines.push(`        with on_unauthorized_scope: drop the token would carry ${carried}`);
    }
  } else {
    lines.push(`result: token scope ${decision.issued.length > 0 ? carried : '(none)'}`);
    if (decision.refused.length > 0) lines.push(`        dropped: ${refusedNames}`);
    if (decision.withheld.length > 0) {
      lines.push(`        withheld by policy: ${decision.withheld.map((v) => v.scope).join(' ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The shape of the issued `scope` claim and the setting that chose it. */
function scopeClaim(
  config: Config,
  client: string | undefined,
  audiences: readonly string[],
): { format: 'string' | 'array'; source: string } {
  const rule = clientRuleFor(config, client, audiences);
  if (rule?.scope_format !== undefined) {
    return {
      format: rule.scope_format,
      source: `clients[${config.clients.indexOf(rule)}], client ${rule.client_id}`,
    };
  }
  return { format: config.tokens.scope_format, source: 'tokens.scope_format' };
}

function scopeClaimLine(
  claim: { format: 'string' | 'array'; source: string },
  issued: readonly string[],
): string {
  const shape =
    claim.format === 'array' ? `JSON array ${json(issued)}` : `string "${issued.join(' ')}"`;
  return `scope claim: ${shape} (${claim.source})`;
}

/** The key that would sign: the active key of the profile's algorithm, or the default key. */
function signingKeyOf(
  config: Config,
  profile: TokenProfile,
): { alg: string | undefined; kid: string | undefined } {
  const active = config.signing.keys.filter((key) => key.status === 'active');
  const alg = profile.alg ?? config.signing.default_alg ?? active[0]?.alg;
  return { alg, kid: active.find((key) => key.alg === alg)?.kid };
}

/** What a client's token profile (clients[].token) makes of the issued scopes. */
function profileLines(
  config: Config,
  profile: TokenProfile,
  rule: { client_id: string; audience?: string | undefined },
  issued: readonly string[],
): string[] {
  const scopeClaims = profile.scopeClaims.map((claim) =>
    claim.format === 'array'
      ? `${claim.name} ${json(issued)}`
      : `${claim.name} ${json(issued.join(' '))}`,
  );
  const carried =
    profile.carry === undefined
      ? `tokens.carry_claims (${config.tokens.carry_claims.join(', ') || 'none'}), the identity claims the issued scopes release, authorization claims marked keep (act always)`
      : `${[...profile.carry].join(', ') || 'nothing'} (act always)`;
  const audience = rule.audience === undefined ? '' : `, audience ${rule.audience}`;
  const signer = signingKeyOf(config, profile);
  return [
    `token profile (${profile.source}.token, client ${rule.client_id}${audience}):`,
    `  signed with ${signer.alg} (key ${signer.kid ?? 'none active'}), typ ${profile.typ === 'none' ? '(none)' : profile.typ}`,
    `  lifetime at most ${profile.lifetimeSec}s, never past the upstream token's exp`,
    `  scope claims: ${scopeClaims.join(', ')}`,
    `  fixed claims: ${Object.keys(profile.claims).length > 0 ? json(profile.claims) : '(none)'}`,
    `  carried from the upstream token: ${carried}`,
  ];
}

function header(config: Config, args: ExplainArgs, granted: readonly string[]): string[] {
  return [
    `client ${args.client ?? '(none)'}, grant ${args.grant}${args.audience ? `, audience ${args.audience}` : ''}`,
    `granted:   ${granted.join(' ') || '(nothing)'}`,
    `requested: ${args.requested?.trim() ? args.requested.trim().replace(/\s+/g, ' ') : '(nothing)'}`,
    `policies:  ${config.scopes.length} in the config, on_unauthorized_scope ${config.tokens.on_unauthorized_scope}`,
    '',
  ];
}

/** Runs explain and returns what it would print (the CLI writes it; tests read it). */
export async function explain(args: ExplainArgs): Promise<ExplainOutput> {
  const problems: string[] = [];
  if (!args.config) problems.push('--config FILE is required');
  if (!args.grant) problems.push('--grant TYPE is required');
  if (args.granted === undefined) problems.push('--granted "..." is required');
  if (args.grant && !(GRANT_TYPES as readonly string[]).includes(args.grant)) {
    problems.push(`--grant must be one of: ${GRANT_TYPES.join(', ')}`);
  }
  if (problems.length > 0 || !args.config || !args.grant) {
    return { code: EXIT.usage, stdout: '', stderr: `scopegate explain: ${problems.join('; ')}\n` };
  }
  let requested: string[] | undefined;
  let granted: string[];
  let claims: Record<string, unknown>;
  try {
    requested = scopes('requested', args.requested);
    granted = scopes('granted', args.granted) ?? [];
    claims = parseClaims(args.claims);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { code: EXIT.usage, stdout: '', stderr: `scopegate explain: ${error.message}\n` };
  }
  const loaded = await loadConfigFile(args.config);
  if (!loaded.ok) {
    return { code: EXIT.failed, stdout: '', stderr: `${loaded.errors.join('\n')}\n` };
  }
  const { config } = loaded.loaded;
  const policies = new ScopePolicies(config.scopes);
  const audiences = args.audience ? [args.audience] : [];
  const decision = new ScopeDecider(policies).decide({
    requested,
    granted,
    clientId: args.client,
    grantType: args.grant,
    audience: audiences,
    claims,
  });
  // Scriptable: a request that would lose a scope it asked for (refused or dropped) exits 3.
  const code = decision.refused.length > 0 ? EXIT.refused : EXIT.ok;
  const claim = scopeClaim(config, args.client, audiences);
  const rule = clientRuleFor(config, args.client, audiences);
  const profile = tokenProfileFor(config, args.client, audiences);
  const asked = upstreamScope(config.upstream.scope_request, requested, policies.templates);
  // Token exchange served by scopegate never asks the upstream (proxy/endpoints/token/exchange/).
  const exchange = isExchangeGrant(args.grant);
  const servedHere = exchange && config.token_exchange.enabled;
  if (args.json) {
    const upstreamScopeAsked = servedHere ? null : (asked ?? null);
    const body = {
      ...decision,
      scope_format: claim.format,
      token_profile: jsonProfile(config, profile),
      upstream_scope: upstreamScopeAsked,
    };
    return { code, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  const text = [
    ...header(config, args, granted),
    ...(exchange ? [...exchangeNotes(config, args.client), ''] : []),
    formatDecision(decision, config.tokens.on_unauthorized_scope, requested).trimEnd(),
    ...(decision.issued.length === 0
      ? []
      : rule?.token !== undefined
        ? profileLines(config, profile, rule, decision.issued)
        : [scopeClaimLine(claim, decision.issued)]),
    servedHere
      ? 'upstream asked for: nothing (scopegate answers token exchange itself)'
      : `upstream asked for (scope_request ${config.upstream.scope_request}): ${asked === undefined ? '(no scope parameter)' : `"${asked}"`}`,
  ];
  return { code, stdout: `${text.join('\n')}\n`, stderr: '' };
}

function jsonProfile(config: Config, profile: TokenProfile): Record<string, unknown> {
  const signer = signingKeyOf(config, profile);
  return {
    source: profile.source,
    alg: signer.alg,
    kid: signer.kid ?? null,
    typ: profile.typ,
    lifetime_seconds: profile.lifetimeSec,
    scope_claims: profile.scopeClaims,
    claims: profile.claims,
    carry: profile.carry === undefined ? null : [...profile.carry],
  };
}

export async function runExplain(args: ExplainArgs): Promise<number> {
  const output = await explain(args);
  if (output.stdout) process.stdout.write(output.stdout);
  if (output.stderr) process.stderr.write(output.stderr);
  return output.code;
}
