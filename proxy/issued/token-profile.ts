/**
 * The token profile a request gets: the first matching `clients[]` rule's `token` settings over
 * the defaults (tokens.max_lifetime, tokens.scope_format, signing.default_alg). Resolved once per
 * rule and configuration generation (a loaded config never changes), so the token path pays a
 * lookup, not a merge.
 *
 * A profile reshapes what was issued and never widens it: the lifetime is at most
 * tokens.max_lifetime (and the upstream token's, applied when the token is built), scope claims
 * carry the issued scopes only, and the schema refuses fixed or carried authorization claims.
 */
import type { ClientRuleConfig, Config } from '../../config/schema.js';
import type { SigningAlgorithm } from '../keys/key-material.js';
import type { TokenTyp } from '../rules/token-typ.js';
import { clientRuleFor } from './client-rule.js';

export interface ScopeClaim {
  name: string;
  format: 'string' | 'array';
}

export interface TokenProfile {
  /** Which setting chose it: `defaults` or `clients[N]`. */
  source: string;
  /** Upper bound of the lifetime in seconds: the profile's, never above tokens.max_lifetime. */
  lifetimeSec: number;
  /** The algorithm whose active key signs; undefined: the default key (signing.default_alg). */
  alg: SigningAlgorithm | undefined;
  typ: TokenTyp;
  scopeClaims: readonly ScopeClaim[];
  /** Fixed claims, added to every token. */
  claims: Readonly<Record<string, unknown>>;
  /**
   * The upstream claims kept (plus act and scopegate's own), or undefined: every upstream
   * claim but the reserved ones and the dropped authorization claims (the default).
   */
  carry: ReadonlySet<string> | undefined;
}

const defaults = new WeakMap<Config, TokenProfile>();
const byRule = new WeakMap<ClientRuleConfig, TokenProfile>();

function maxLifetimeSec(config: Config): number {
  return Math.floor(config.tokens.max_lifetime / 1000);
}

function defaultProfile(config: Config): TokenProfile {
  let profile = defaults.get(config);
  if (profile === undefined) {
    profile = {
      source: 'defaults',
      lifetimeSec: maxLifetimeSec(config),
      alg: undefined,
      typ: 'at+jwt',
      scopeClaims: [{ name: 'scope', format: config.tokens.scope_format }],
      claims: {},
      carry: undefined,
    };
    defaults.set(config, profile);
  }
  return profile;
}

function ruleProfile(config: Config, rule: ClientRuleConfig): TokenProfile {
  let profile = byRule.get(rule);
  if (profile === undefined) {
    const token = rule.token;
    const format = rule.scope_format ?? config.tokens.scope_format;
    const lifetime = token?.lifetime;
    profile = {
      source: `clients[${config.clients.indexOf(rule)}]`,
      lifetimeSec:
        lifetime === undefined
          ? maxLifetimeSec(config)
          : Math.min(Math.floor(lifetime / 1000), maxLifetimeSec(config)),
      alg: token?.alg,
      typ: token?.typ ?? 'at+jwt',
      scopeClaims: token?.scope_claims ?? [{ name: 'scope', format }],
      claims: token?.claims ?? {},
      carry: token?.carry === undefined ? undefined : new Set(token.carry),
    };
    byRule.set(rule, profile);
  }
  return profile;
}

export function tokenProfileFor(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): TokenProfile {
  const rule = clientRuleFor(config, clientId, audiences);
  return rule === undefined ? defaultProfile(config) : ruleProfile(config, rule);
}
