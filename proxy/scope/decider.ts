/**
 * The scope decision: which scopes an issued token carries. Every issued scope is covered by a
 * scope the verified upstream token granted (exactly, or by a granted wildcard template), and
 * then passes every policy that governs it. Policies only ever remove.
 *
 * - Scopes requested: each is issued as requested (the concrete scope, never the template that
 *   covered it) or refused; the token endpoint rejects or drops the refused ones.
 * - Nothing requested: every granted scope, templates included, minus those a policy refuses.
 *   Those are withheld, not refused: the client asked for nothing it could be refused, and
 *   naming them would only tell it what else it holds.
 */
import { GrantedScopes } from './coverage.js';
import { type PolicyOutcome, type ScopeContext, ScopePolicies } from './policies.js';

export interface DecisionInput extends ScopeContext {
  /** Scopes the client asked for; undefined when it asked for none. */
  requested: readonly string[] | undefined;
  /** Scopes the verified upstream token grants (may include templates such as accounts.*). */
  granted: readonly string[];
}

export type RefusalReason = 'not_granted' | 'policy';

export interface ScopeVerdict {
  readonly scope: string;
  readonly allowed: boolean;
  readonly reason?: RefusalReason;
  /** The granted scope or template that covers it. */
  readonly coveredBy?: string;
  /** Parameters the covering template captured. */
  readonly params?: readonly string[];
  readonly policy?: PolicyOutcome;
  readonly detail: string;
}

export interface Decision {
  /** What the token carries, in the order requested (or granted, when nothing was requested). */
  readonly issued: readonly string[];
  /** Requested scopes that may not be issued. */
  readonly refused: readonly ScopeVerdict[];
  /** Nothing requested: granted scopes a policy keeps out of the token. */
  readonly withheld: readonly ScopeVerdict[];
  /** One verdict per requested (or, with nothing requested, granted) scope. */
  readonly verdicts: readonly ScopeVerdict[];
}

/** What the token endpoint (and the decision cache wrapping it) needs. */
export interface Decider {
  decide(input: DecisionInput): Decision;
}

export class ScopeDecider implements Decider {
  constructor(readonly policies: ScopePolicies = new ScopePolicies([])) {}

  private verdict(scope: string, granted: GrantedScopes, context: ScopeContext): ScopeVerdict {
    const covered = granted.cover(scope);
    if (!covered) {
      return {
        scope,
        allowed: false,
        reason: 'not_granted',
        detail: 'not covered by any scope the upstream granted',
      };
    }
    const policy = this.policies.evaluate(scope, context);
    const how = covered.by === scope ? 'granted' : `covered by granted template ${covered.by}`;
    return {
      scope,
      allowed: policy.allowed,
      coveredBy: covered.by,
      params: covered.params,
      policy,
      ...(policy.allowed ? {} : { reason: 'policy' as const }),
      detail: policy.allowed ? how : policy.detail,
    };
  }

  decide(input: DecisionInput): Decision {
    const granted = new GrantedScopes(input.granted, this.policies.compiledScopes);
    // Repeated scopes are one scope: one verdict, issued once.
    const nothingRequested = input.requested === undefined;
    const candidates = [...new Set(input.requested ?? input.granted)];
    const verdicts = candidates.map((scope) => this.verdict(scope, granted, input));
    const denied = verdicts.filter((verdict) => !verdict.allowed);
    return {
      issued: verdicts.filter((verdict) => verdict.allowed).map((verdict) => verdict.scope),
      refused: nothingRequested ? [] : denied,
      withheld: nothingRequested ? denied : [],
      verdicts,
    };
  }
}
