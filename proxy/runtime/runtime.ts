/**
 * Everything one configuration generation needs to serve requests. A reload builds a whole new
 * Runtime and swaps it in at once, so a request sees one generation from start to end.
 */
import type { LoadedConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { TrustedProxies } from '../http/trusted-proxies.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.js';
import type { Logger } from '../observability/log.js';
import { configuredClientIds, type Metrics } from '../observability/metrics.js';
import { type Decider, ScopeDecider } from '../scope/decider.js';
import { ScopePolicies } from '../scope/policies.js';
import type { CompiledTemplate } from '../scope/template.js';
import { UpstreamDiscovery } from '../upstream/discovery.js';
import { type IntrospectionCache, introspectionCacheFor } from '../upstream/introspection-cache.js';
import {
  type IntrospectionClient,
  loadIntrospectionClient,
} from '../upstream/introspection-client.js';
import {
  cacheIdentity,
  type UpstreamTokenCache,
  upstreamTokenCacheFor,
} from '../upstream/token-cache/upstream-token-cache.js';
import { resolveTokenPath } from '../upstream/token-path.js';
import { type TokenQuota, tokenQuotaFor } from '../upstream/token-quota/token-quota.js';
import { environmentProxyProblems, UpstreamAgents } from '../upstream/upstream-agents.js';
import { UpstreamKeys } from '../upstream/upstream-keys.js';
import { loadUpstreamTls, type UpstreamTlsMaterial } from '../upstream/upstream-tls.js';
import { VerifiedTokenCache } from '../upstream/verified-token-cache.js';
import { AuthorizationStore } from './authorization-store.js';
import { CacheInPrimary } from './cache-in-primary.js';
import { ClientKeys } from './client-keys.js';
import { cachedDecider } from './decision-cache.js';
import type { IpcChannel } from './ipc-channel.js';
import { IssuerPath } from './issuer-path.js';
import { ReplayGuard } from './replay-guard.js';
import { RevokedTokens } from './revoked-tokens.js';
import { SlotsInPrimary } from './slots-in-primary.js';
import { DISCOVERY_PATHS, UpstreamRoutes } from './upstream-routes.js';

/** The well-known discovery paths scopegate serves (OpenID Connect Discovery, RFC 8414). */
export const DISCOVERY_WELL_KNOWN = DISCOVERY_PATHS;

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
  /** The upstream token endpoint path: upstream.token_path, or discovery's token_endpoint. */
  tokenPath: string;
  /** Upstream paths the gateway serves or blocks itself, keyed once per generation. */
  routes: UpstreamRoutes;
  /** The issuer's path, under which scopegate serves its documents and endpoints. */
  issuerPath: IssuerPath;
  /** scopegate's credentials for introspecting opaque upstream tokens (upstream.introspection). */
  introspection: IntrospectionClient | undefined;
  /** Accepted introspection answers (upstream.introspection.cache_max_age); undefined when 0. */
  introspectionCache: IntrospectionCache | undefined;
  /** Upstream token answers for clients that opt in (clients[].cache); undefined when none do. */
  tokenCache: UpstreamTokenCache | undefined;
  /**
   * Limits on upstream token calls (upstream.quota, clients[].upstream_quota); undefined when
   * nothing sets one. Carried over a reload while those settings are unchanged.
   */
  tokenQuota: TokenQuota | undefined;
  /** Upstream tokens that verified under this generation, until they expire. */
  verifiedTokens: VerifiedTokenCache;
  /** server.trusted_proxies: peers whose forwarding headers are believed. */
  trustedProxies: TrustedProxies;
  /**
   * scopegate tokens revoked at its revocation endpoint, until they expire. The in-process list
   * carries over every reload (a reload never makes a revoked token good again); the Redis
   * connection while its settings are unchanged.
   */
  revokedTokens: RevokedTokens;
  /**
   * One-time values already used (DPoP proof and client assertion jti), until their window ends.
   * Carried over every reload like the revocation list.
   */
  replayGuard: ReplayGuard;
  /**
   * Pushed requests, authorizations under way and code bindings of clients held to a profile
   * (pushed_authorization). Carried over every reload like the replay guard.
   */
  authorizationStore: AuthorizationStore;
  /** Client authentication keys: clients' public keys, scopegate's keys for their upstream. */
  clientKeys: ClientKeys;
  /** Connection pools for every upstream request (egress proxy, upstream.tls, pool size). */
  upstreamAgents: UpstreamAgents;
  /** The upstream.tls files as read for this generation: a reload compares them. */
  upstreamTls: UpstreamTlsMaterial;
}

/**
 * Upstream caches survive a reload when the upstream settings did not change. The quota is not
 * one of them: a new limit must not cost the upstream's keys and discovery (tokenQuotaFor decides
 * about the quota itself).
 */
function sameUpstream(a: Config['upstream'], b: Config['upstream']): boolean {
  return JSON.stringify({ ...a, quota: null }) === JSON.stringify({ ...b, quota: null });
}

export async function buildRuntime(
  loaded: LoadedConfig,
  generation: number,
  metrics: Metrics | undefined,
  previous?: Runtime,
  /** Where the token cache and the revocation list log Redis failures. */
  logger?: Logger,
  /** The primary process, when this is one of several workers: it holds the shared state. */
  primary?: IpcChannel,
): Promise<Runtime> {
  const { config, file } = loaded;
  const signingKeys = await loadSigningKeys(config.signing.keys, file, config.signing.default_alg);
  const introspection = await loadIntrospectionClient(config.upstream.introspection, file);
  const clientKeys = await ClientKeys.load(config, file, previous?.clientKeys, previous?.config);
  // Read again on every reload: a renewed certificate under the same file name takes effect.
  const upstreamTls = await loadUpstreamTls(config.upstream.tls, file);
  const unusableProxy = config.upstream.proxy === undefined ? environmentProxyProblems() : [];
  if (unusableProxy.length > 0) throw new Error(unusableProxy.join('; '));
  const reuse =
    previous &&
    sameUpstream(previous.config.upstream, config.upstream) &&
    JSON.stringify(previous.upstreamTls) === JSON.stringify(upstreamTls);
  const upstreamAgents = reuse
    ? previous.upstreamAgents
    : new UpstreamAgents({
        proxy: config.upstream.proxy,
        tls: upstreamTls,
        maxSockets: config.upstream.max_connections,
        connectTimeoutMs: config.upstream.timeout,
      });
  const discovery = reuse
    ? previous.discovery
    : new UpstreamDiscovery(config.upstream, metrics, Date.now, upstreamAgents);
  // Before anything else is built: serving with the wrong token endpoint is worse than not serving.
  const resolved = await resolveTokenPath(config.upstream, discovery);
  const tokenPath = resolved.path;
  const upstreamKeys = reuse
    ? previous.upstreamKeys
    : new UpstreamKeys({
        jwksUri: () => discovery.jwksUri(),
        maxAgeMs: config.upstream.jwks_max_age,
        cooldownMs: config.upstream.jwks_cooldown,
        staleIfErrorMs: config.upstream.jwks_stale_if_error,
        timeoutMs: config.upstream.timeout,
        agents: upstreamAgents,
        ...(metrics ? { metrics } : {}),
      });
  // The token cache (and its Redis connection) carries over while its secret, backends and size
  // are unchanged; the one it replaces is closed by the caller (closeReplaced). max_ttl and the
  // margins are not part of it: every read applies the current generation's (cache-entry.ts), so
  // a reload that shortens them reaches the entries already kept, in process and in Redis.
  const keepCache =
    previous?.tokenCache !== undefined &&
    reuse &&
    cacheIdentity(previous.config.cache.upstream_tokens) ===
      cacheIdentity(config.cache.upstream_tokens) &&
    config.clients.some((rule) => rule.cache === true);
  const tokenCache = keepCache
    ? previous.tokenCache
    : upstreamTokenCacheFor(
        config,
        metrics,
        logger,
        primary && new CacheInPrimary(primary, config.upstream.timeout),
      );
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
    tokenPath,
    routes: new UpstreamRoutes(config.upstream, tokenPath, resolved.otherEndpoints),
    issuerPath: new IssuerPath(config.issuer, DISCOVERY_WELL_KNOWN),
    introspection,
    introspectionCache: introspectionCacheFor(
      config.upstream.introspection?.cache_max_age,
      config.tokens.min_lifetime,
      metrics,
    ),
    tokenCache,
    tokenQuota: tokenQuotaFor(
      config,
      previous?.tokenQuota,
      metrics,
      logger,
      primary && new SlotsInPrimary(primary),
    ),
    verifiedTokens: new VerifiedTokenCache(metrics),
    trustedProxies: new TrustedProxies(config.server.trusted_proxies),
    revokedTokens: new RevokedTokens(
      config.tokens.revocation,
      previous?.revokedTokens,
      logger,
      metrics,
      primary,
    ),
    replayGuard: new ReplayGuard(
      config.tokens.replay,
      previous?.replayGuard,
      logger,
      metrics,
      primary,
    ),
    authorizationStore: new AuthorizationStore(
      config.pushed_authorization,
      previous?.authorizationStore,
      logger,
      metrics,
      primary,
    ),
    clientKeys,
    upstreamAgents,
    upstreamTls,
  };
}

/**
 * Releases what `previous` holds that `next` no longer uses: the token cache's and the
 * revocation list's Redis connections, and the upstream pools (whose busy connections close as
 * their responses end).
 */
export async function closeReplaced(previous: Runtime, next: Runtime | undefined): Promise<void> {
  if (previous.upstreamAgents !== next?.upstreamAgents) previous.upstreamAgents.close();
  if (previous.tokenCache !== undefined && previous.tokenCache !== next?.tokenCache) {
    await previous.tokenCache.close();
  }
  if (previous.tokenQuota !== undefined && previous.tokenQuota !== next?.tokenQuota) {
    previous.tokenQuota.close();
  }
  if (previous.revokedTokens.shared !== next?.revokedTokens.shared) {
    await previous.revokedTokens.close();
  }
  if (previous.replayGuard.shared !== next?.replayGuard.shared) {
    await previous.replayGuard.close();
  }
  if (previous.authorizationStore.shared !== next?.authorizationStore.shared) {
    await previous.authorizationStore.close();
  }
}
