/**
 * Everything one configuration generation needs to serve requests. A reload builds a whole new
 * Runtime and swaps it in at once, so a request sees one generation from start to end.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { TrustedProxies } from './http/trusted-proxies.js';
import { UpstreamRoutes } from './http/upstream-routes.js';
import { loadSigningKeys, type SigningKeySet } from './keys/signing-keys.js';
import { UpstreamKeys } from './keys/upstream-keys.js';
import { configuredClientIds, type Metrics } from './metrics.js';
import { IssuerPath } from './oidc/issuer-path.js';
import { type Decider, ScopeDecider } from './scope/decider.js';
import { cachedDecider } from './scope/decision-cache.js';
import { ScopePolicies } from './scope/policies.js';
import type { CompiledTemplate } from './scope/template.js';
import { UpstreamDiscovery } from './upstream/discovery.js';

/** The well-known discovery paths scopegate serves (OpenID Connect Discovery, RFC 8414). */
export const DISCOVERY_WELL_KNOWN = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
] as const;

export interface Runtime {
  generation: number;
  config: Config;
  configFile: string;
  signingKeys: SigningKeySet;
  discovery: UpstreamDiscovery;
  upstreamKeys: UpstreamKeys;
  /** Scope decisions, cached per generation (config.cache). */
  decider: Decider;
  /** The configured scope templates, compiled once (for `scope_request: templates`). */
  scopeTemplates: CompiledTemplate[];
  /** Client ids the configuration names: the only client_id metric label values. */
  labelledClients: ReadonlySet<string>;
  /** Upstream paths the gateway serves or blocks itself, keyed once per generation. */
  routes: UpstreamRoutes;
  /** The issuer's path, under which scopegate serves its documents and endpoints. */
  issuerPath: IssuerPath;
  /** server.trusted_proxies: peers whose forwarding headers are believed. */
  trustedProxies: TrustedProxies;
}

/** Upstream caches survive a reload when the upstream settings did not change. */
function sameUpstream(a: Config['upstream'], b: Config['upstream']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function buildRuntime(
  loaded: LoadedConfig,
  generation: number,
  metrics: Metrics | undefined,
  previous?: Runtime,
): Promise<Runtime> {
  const { config, file } = loaded;
  const signingKeys = await loadSigningKeys(config.signing.keys, file);
  const reuse = previous && sameUpstream(previous.config.upstream, config.upstream);
  const discovery = reuse ? previous.discovery : new UpstreamDiscovery(config.upstream, metrics);
  const upstreamKeys = reuse
    ? previous.upstreamKeys
    : new UpstreamKeys({
        jwksUri: () => discovery.jwksUri(),
        maxAgeMs: config.upstream.jwks_max_age,
        cooldownMs: config.upstream.jwks_cooldown,
        staleIfErrorMs: config.upstream.jwks_stale_if_error,
        timeoutMs: config.upstream.timeout,
        ...(metrics ? { metrics } : {}),
      });
  const policies = new ScopePolicies(config.scopes);
  const decider = cachedDecider(new ScopeDecider(policies), {
    generation,
    maxEntries: config.cache.decision_max_entries,
    ttlMs: config.cache.decision_ttl,
    ...(metrics ? { metrics } : {}),
  });
  return {
    generation,
    config,
    configFile: file,
    signingKeys,
    discovery,
    upstreamKeys,
    decider,
    scopeTemplates: [...policies.templates],
    labelledClients: configuredClientIds(config),
    routes: new UpstreamRoutes(config.upstream),
    issuerPath: new IssuerPath(config.issuer, DISCOVERY_WELL_KNOWN),
    trustedProxies: new TrustedProxies(config.server.trusted_proxies),
  };
}
