/**
 * Per-scope governance policies (the `scopes:` config). A policy attaches to a template or a plain
 * scope and can only refuse: which grant types, which clients, and validators for the parameters
 * its wildcards matched. When several policies match a scope, all must pass.
 */
import type { ScopePolicyConfig } from '../../config/schema.js';
import { compileParamPattern } from './param-pattern.js';
import { type CompiledTemplate, compileTemplate } from './template.js';

export interface ScopeContext {
  clientId: string | undefined;
  grantType: string;
  audience: readonly string[];
  /** Claims of the verified upstream token, for `claim` validators. */
  claims: Readonly<Record<string, unknown>>;
}

interface CompiledValidator {
  enum?: ReadonlySet<string>;
  pattern?: RegExp;
  patternSource?: string;
  claim?: string;
}

interface CompiledPolicy {
  template: CompiledTemplate;
  grantTypes?: ReadonlySet<string>;
  clients?: ReadonlySet<string>;
  params: readonly CompiledValidator[];
}

export interface PolicyOutcome {
  allowed: boolean;
  /** Templates of the policies that matched the scope. */
  matched: string[];
  /** Parameters captured by each matching policy, keyed by template. */
  params: Record<string, string[]>;
  /** Why the scope was refused; empty when allowed. */
  detail: string;
}

/** Values of a claim a `claim` validator compares against: strings, numbers, or arrays of them. */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'bigint') return [String(value)];
  if (Array.isArray(value)) return value.flatMap((item) => claimValues(item));
  return [];
}

function checkParam(
  validator: CompiledValidator,
  index: number,
  param: string | undefined,
  context: ScopeContext,
): string | undefined {
  if (param === undefined) return `params[${index}] is missing`;
  // A wildcard passed through as a parameter would skip every validator: never let it.
  if (param.split('.').includes('*')) return `params[${index}] is a wildcard, not a value`;
  if (validator.enum && !validator.enum.has(param)) {
    return `params[${index}] "${param}" is not one of ${[...validator.enum].join(', ')}`;
  }
  if (validator.pattern && !validator.pattern.test(param)) {
    return `params[${index}] "${param}" does not match ${validator.patternSource}`;
  }
  if (validator.claim !== undefined) {
    const values = claimValues(context.claims[validator.claim]);
    if (!values.includes(param)) {
      return `params[${index}] "${param}" is not in the token's "${validator.claim}" claim`;
    }
  }
  return undefined;
}

export class ScopePolicies {
  private readonly policies: readonly CompiledPolicy[];
  /** Claim names validators read: part of every cached decision's key. */
  readonly claimsRead: readonly string[];

  constructor(configs: readonly ScopePolicyConfig[]) {
    this.policies = configs.map((config) => ({
      template: compileTemplate(config.template),
      ...(config.grant_types ? { grantTypes: new Set(config.grant_types) } : {}),
      ...(config.clients ? { clients: new Set(config.clients) } : {}),
      params: (config.params ?? []).map((validator) => ({
        ...(validator.enum ? { enum: new Set(validator.enum) } : {}),
        ...(validator.pattern
          ? { pattern: compileParamPattern(validator.pattern), patternSource: validator.pattern }
          : {}),
        ...(validator.claim !== undefined ? { claim: validator.claim } : {}),
      })),
    }));
    this.claimsRead = [
      ...new Set(
        this.policies.flatMap((policy) =>
          policy.params.flatMap((validator) => (validator.claim ? [validator.claim] : [])),
        ),
      ),
    ].sort();
  }

  get size(): number {
    return this.policies.length;
  }

  evaluate(scope: string, context: ScopeContext): PolicyOutcome {
    const outcome: PolicyOutcome = { allowed: true, matched: [], params: {}, detail: '' };
    const failures: string[] = [];
    for (const policy of this.policies) {
      const params = policy.template.match(scope);
      if (params === null) continue;
      const name = policy.template.source;
      outcome.matched.push(name);
      outcome.params[name] = params;
      if (policy.grantTypes && !policy.grantTypes.has(context.grantType)) {
        failures.push(`policy ${name}: grant type ${context.grantType} is not allowed`);
      }
      if (policy.clients && (!context.clientId || !policy.clients.has(context.clientId))) {
        failures.push(`policy ${name}: client ${context.clientId ?? '(unknown)'} is not allowed`);
      }
      policy.params.forEach((validator, index) => {
        const problem = checkParam(validator, index, params[index], context);
        if (problem) failures.push(`policy ${name}: ${problem}`);
      });
    }
    if (failures.length > 0) {
      outcome.allowed = false;
      outcome.detail = failures.join('; ');
    }
    return outcome;
  }
}
