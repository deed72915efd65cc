/**
 * The scope decision: which scopes an issued token carries. Every issued scope is covered by a
 * scope the verified upstream token granted (exactly, or by a granted wildcard template), and
 * then passes every policy that matches it. Policies only ever remove.
 */
import { type PolicyOutcome, type ScopeContext, ScopePolicies } from './policies.js';
import { type CompiledTemplate, compileTemplate, templateSyntaxError } from './template.js';

export interface DecisionInput extends ScopeContext {
  /** Scopes the client asked for; undefined when it asked for none. */
  requested: readonly string[] | undefined;
  /** Scopes the verified upstream token grants (may include templates such as accounts.*). */
  granted: readonly string[];
}

export type RefusalReason = 'not_granted' | 'policy';

export interface ScopeVerdict {
  scope: string;
  allowed: boolean;
  reason?: RefusalReason;
  /** The granted scope or template that covers it. */
  coveredBy?: string;
  /** Parameters the covering template captured. */
  params?: string[];
  policy?: PolicyOutcome;
  detail: string;
}

export interface Decision {
  issued: string[];
  refused: ScopeVerdict[];
  verdicts: ScopeVerdict[];
}

function compileGranted(granted: readonly string[]): CompiledTemplate[] {
  // A granted value that is not a well-formed template can still be granted literally.
  return granted.map((scope) =>
    templateSyntaxError(scope) === undefined
      ? compileTemplate(scope)
      : {
          source: scope,
          dynamic: false,
          wildcardCount: 0,
          match: (candidate: string) => (candidate === scope ? [] : null),
        },
  );
}

/** The granted entry covering `scope`: an exact grant wins over a template. */
function coverage(
  scope: string,
  granted: readonly CompiledTemplate[],
): { by: string; params: string[] } | undefined {
  const exact = granted.find((template) => template.source === scope);
  if (exact) return { by: exact.source, params: [] };
  for (const template of granted) {
    if (!template.dynamic) continue;
    const params = template.match(scope);
    if (params) return { by: template.source, params };
  }
  return undefined;
}

export class ScopeDecider {
  constructor(readonly policies: ScopePolicies = new ScopePolicies([])) {}

  decide(input: DecisionInput): Decision {
    const granted = compileGranted(input.granted);
    const candidates = input.requested ?? [...new Set(input.granted)];
    const verdicts: ScopeVerdict[] = [];
    for (const scope of candidates) {
      const covered = coverage(scope, granted);
      if (!covered) {
        verdicts.push({
          scope,
          allowed: false,
          reason: 'not_granted',
          detail: 'not covered by any scope the upstream granted',
        });
        continue;
      }
      const policy = this.policies.evaluate(scope, input);
      verdicts.push({
        scope,
        allowed: policy.allowed,
        coveredBy: covered.by,
        params: covered.params,
        policy,
        ...(policy.allowed ? {} : { reason: 'policy' as const }),
        detail: policy.allowed
          ? covered.by === scope
            ? 'granted'
            : `covered by granted template ${covered.by}`
          : policy.detail,
      });
    }
    return {
      issued: verdicts.filter((verdict) => verdict.allowed).map((verdict) => verdict.scope),
      refused: verdicts.filter((verdict) => !verdict.allowed),
      verdicts,
    };
  }
}
