/**
 * Per-scope governance policies (the `scopes:` config). A policy attaches to a template or a plain
 * scope and can only refuse: which grant types, which clients, and validators for the parameters
 * its wildcards matched. When several policies match a scope, all must pass.
 *
 * A requested scope can itself be a template (`accounts.*`). It then stands for every concrete
 * scope it matches, so every policy that governs any of those applies to it: a client refused
 * `accounts.admin.*` must not get round that by asking for `accounts.*`. Parameters that are
 * wildcards, or that the scope does not pin down at all, cannot be validated and fail.
 */
import { claimIncludes } from './claims.js';
import { CompiledScopes } from './compiled-scopes.js';
import { compileParamPattern, MAX_PATTERN_INPUT } from './param-pattern.js';
import { type CompiledTemplate, compileTemplate, isDynamicTemplate, WILDCARD } from './template.js';
import { TemplateIndex } from './template-index.js';
import { overlaps } from './template-relations.js';

export interface ScopeContext {
  clientId: string | undefined;
  grantType: string;
  audience: readonly string[];
  /** Claims of the verified upstream token, for `claim` validators. */
  claims: Readonly<Record<string, unknown>>;
}

/** One rule of one policy, as explain names it: `grant_types`, `params[1].pattern`, ... */
export interface PolicyCheck {
  rule: string;
  passed: boolean;
  /** Why it failed; empty when it passed. */
  detail: string;
}

export interface PolicyMatch {
  template: string;
  /**
   * What the policy's wildcards matched; null when the scope is a template broader than the
   * policy, so that no parameter is known.
   */
  params: readonly string[] | null;
  passed: boolean;
  checks: readonly PolicyCheck[];
}

export interface PolicyOutcome {
  allowed: boolean;
  /** Every policy that governs the scope, in config order. */
  matches: readonly PolicyMatch[];
  /** The failed checks, joined; empty when allowed. */
  detail: string;
}

type Validator =
  | { kind: 'enum'; values: ReadonlySet<string>; label: string }
  | { kind: 'pattern'; regex: RegExp; label: string }
  | { kind: 'claim'; claim: string; label: string };

interface CompiledPolicy {
  index: number;
  template: CompiledTemplate;
  grantTypes?: ReadonlySet<string>;
  clients?: ReadonlySet<string>;
  /** validators[i] are the validators of params[i]. */
  validators: ReadonlyArray<readonly Validator[]>;
}

/**
 * One configured scope policy (`scopes[]`), as the policies read it. The configuration's own type
 * (config/schema.ts ScopePolicyConfig) is this shape; declared here so that scope/ stays below
 * the configuration, which validates templates with it.
 */
export interface ScopePolicyConfig {
  template: string;
  grant_types?: readonly string[] | undefined;
  clients?: readonly string[] | undefined;
  params?:
    | readonly {
        enum?: readonly string[] | undefined;
        pattern?: string | undefined;
        claim?: string | undefined;
      }[]
    | undefined;
}

function compileValidators(config: ScopePolicyConfig): Validator[][] {
  return (config.params ?? []).map((param, index) => {
    const out: Validator[] = [];
    if (param.enum) {
      out.push({
        kind: 'enum',
        values: new Set(param.enum),
        label: `params[${index}].enum [${param.enum.join(', ')}]`,
      });
    }
    if (param.pattern !== undefined) {
      out.push({
        kind: 'pattern',
        regex: compileParamPattern(param.pattern),
        label: `params[${index}].pattern ${param.pattern}`,
      });
    }
    if (param.claim !== undefined) {
      out.push({
        kind: 'claim',
        claim: param.claim,
        label: `params[${index}].claim ${param.claim}`,
      });
    }
    return out;
  });
}

/** Why `param` fails `validator`, or undefined when it passes. */
function validate(validator: Validator, param: string, context: ScopeContext): string | undefined {
  switch (validator.kind) {
    case 'enum':
      return validator.values.has(param) ? undefined : `"${param}" is not one of the values`;
    case 'pattern':
      if (param.length > MAX_PATTERN_INPUT) {
        return `longer than ${MAX_PATTERN_INPUT} characters, not checked against the pattern`;
      }
      return validator.regex.test(param) ? undefined : `"${param}" does not match the pattern`;
    case 'claim':
      return claimIncludes(context.claims, validator.claim, param)
        ? undefined
        : `"${param}" is not in the token's "${validator.claim}" claim`;
  }
}

function check(rule: string, failure: string | undefined): PolicyCheck {
  return { rule, passed: failure === undefined, detail: failure ?? '' };
}

function evaluatePolicy(
  policy: CompiledPolicy,
  params: readonly string[] | null,
  context: ScopeContext,
): PolicyMatch {
  const checks: PolicyCheck[] = [];
  if (policy.grantTypes) {
    const allowed = policy.grantTypes.has(context.grantType);
    checks.push(
      check(
        `grant_types [${[...policy.grantTypes].join(', ')}]`,
        allowed ? undefined : `grant type ${context.grantType} is not allowed`,
      ),
    );
  }
  if (policy.clients) {
    const allowed = context.clientId !== undefined && policy.clients.has(context.clientId);
    checks.push(
      check(
        'clients',
        allowed ? undefined : `client ${context.clientId ?? '(unknown)'} is not allowed`,
      ),
    );
  }
  policy.validators.forEach((validators, index) => {
    const param = params?.[index];
    for (const validator of validators) {
      let failure: string | undefined;
      if (params === null) {
        failure = 'the requested scope is a template broader than this policy';
      } else if (param === undefined) {
        failure = 'missing';
      } else if (param.includes(WILDCARD)) {
        // A wildcard passed through as a parameter would skip every validator: never let it.
        failure = `"${param}" is a wildcard, not a value`;
      } else {
        failure = validate(validator, param, context);
      }
      checks.push(check(validator.label, failure));
    }
  });
  return {
    template: policy.template.source,
    params,
    passed: checks.every((item) => item.passed),
    checks,
  };
}

export class ScopePolicies {
  private readonly policies: readonly CompiledPolicy[];
  /** Which policies could govern a concrete scope, without trying all of them. */
  private readonly index: TemplateIndex<CompiledPolicy>;
  /** The configured templates, compiled once (also for `scope_request: templates`). */
  readonly templates: readonly CompiledTemplate[];
  /** Claim names validators read: part of every cached decision's key. */
  readonly claimsRead: readonly string[];
  /** Compiled granted values, kept for this configuration generation only. */
  readonly compiledScopes = new CompiledScopes();

  constructor(configs: readonly ScopePolicyConfig[]) {
    this.policies = configs.map((config, index) => ({
      index,
      template: compileTemplate(config.template),
      ...(config.grant_types ? { grantTypes: new Set<string>(config.grant_types) } : {}),
      ...(config.clients ? { clients: new Set(config.clients) } : {}),
      validators: compileValidators(config),
    }));
    this.index = new TemplateIndex(this.policies, (policy) => policy.template);
    this.templates = this.policies.map((policy) => policy.template);
    this.claimsRead = [
      ...new Set(
        this.policies.flatMap((policy) =>
          policy.validators.flat().flatMap((v) => (v.kind === 'claim' ? [v.claim] : [])),
        ),
      ),
    ].sort();
  }

  get size(): number {
    return this.policies.length;
  }

  evaluate(scope: string, context: ScopeContext): PolicyOutcome {
    const parts = scope.split('.');
    // Only a well-formed template stands for other scopes; `acc*` is just an opaque name.
    const asTemplate =
      parts.includes(WILDCARD) && isDynamicTemplate(scope) ? compileTemplate(scope) : undefined;
    // A requested template may overlap policies the index would not offer: try them all.
    const candidates = asTemplate ? this.policies : this.index.candidates(parts);
    const matches: PolicyMatch[] = [];
    for (const policy of candidates) {
      const params = policy.template.matchSegments(parts);
      if (params === null && !(asTemplate && overlaps(policy.template, asTemplate))) continue;
      matches.push(evaluatePolicy(policy, params, context));
    }
    const failed = matches.flatMap((match) =>
      match.checks
        .filter((item) => !item.passed)
        .map((item) => `policy ${match.template}: ${item.rule}: ${item.detail}`),
    );
    return { allowed: failed.length === 0, matches, detail: failed.join('; ') };
  }
}
