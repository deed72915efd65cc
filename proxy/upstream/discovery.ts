/**
 * The upstream's discovery document: fetched once and cached, the source of the upstream issuer
 * and JWKS URI when the config does not pin them, and the base of scopegate's own document.
 */
import type { Config } from '../../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { fetchUpstreamJson } from './http-client.js';
import type { UpstreamAgents } from './upstream-agents.js';
import { upstreamUrl } from './upstream-url.js';

export type DiscoveryDocument = Record<string, unknown>;

/**
 * After a failed refetch, the stale copy is served without asking again for this long, so a down
 * upstream does not make every request wait for a timeout (the document rarely changes).
 */
export const DISCOVERY_RETRY_AFTER_FAILURE_MS = 30_000;

export class UpstreamDiscovery {
  private cached: { document: DiscoveryDocument; fetchedAt: number } | undefined;
  private inflight: Promise<DiscoveryDocument> | undefined;
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly upstream: Config['upstream'],
    private readonly metrics?: Metrics,
    private readonly now: () => number = Date.now,
    private readonly agents?: UpstreamAgents,
  ) {}

  private fetchDocument(): Promise<DiscoveryDocument> {
    if (this.inflight) return this.inflight;
    const url = upstreamUrl(this.upstream.url, this.upstream.discovery_path);
    const fetching = (async () => {
      try {
        const body = await fetchUpstreamJson(
          url,
          this.upstream.timeout,
          'discovery',
          this.metrics,
          this.agents,
        );
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new Error('upstream discovery document is not a JSON object');
        }
        const document = body as DiscoveryDocument;
        this.cached = { document, fetchedAt: this.now() };
        return document;
      } catch (error) {
        this.lastFailure = this.now();
        throw error;
      }
    })();
    this.inflight = fetching;
    const clear = () => {
      if (this.inflight === fetching) this.inflight = undefined;
    };
    fetching.then(clear, clear);
    return fetching;
  }

  /** The document, from cache while fresh; a stale copy is used if a refetch fails. */
  async document(): Promise<DiscoveryDocument> {
    const cached = this.cached;
    if (cached && this.now() - cached.fetchedAt < this.upstream.discovery_max_age) {
      this.metrics?.cacheHits.inc({ cache: 'discovery' });
      return cached.document;
    }
    this.metrics?.cacheMisses.inc({ cache: 'discovery' });
    const failedRecently = this.now() - this.lastFailure < DISCOVERY_RETRY_AFTER_FAILURE_MS;
    if (cached && failedRecently && !this.inflight) return cached.document;
    try {
      return await this.fetchDocument();
    } catch (error) {
      if (cached) return cached.document;
      throw error;
    }
  }

  async issuer(): Promise<string> {
    if (this.upstream.issuer !== undefined) return this.upstream.issuer;
    const issuer = (await this.document()).issuer;
    if (typeof issuer !== 'string' || issuer === '') {
      throw new Error('upstream discovery document has no issuer');
    }
    return issuer;
  }

  /** The cached document without waiting (undefined before the first fetch). */
  knownDocument(): DiscoveryDocument | undefined {
    return this.cached?.document;
  }

  /**
   * The upstream issuer without waiting: the pinned one, or the cached document's (undefined
   * before the first fetch). For rewriting responses that are already streaming.
   */
  knownIssuer(): string | undefined {
    if (this.upstream.issuer !== undefined) return this.upstream.issuer;
    const issuer = this.cached?.document.issuer;
    return typeof issuer === 'string' && issuer !== '' ? issuer : undefined;
  }

  async jwksUri(): Promise<URL> {
    if (this.upstream.jwks_uri !== undefined) return new URL(this.upstream.jwks_uri);
    const uri = (await this.document()).jwks_uri;
    if (typeof uri !== 'string') throw new Error('upstream discovery document has no jwks_uri');
    return new URL(uri);
  }
}

/** Joins a path onto the issuer URL, keeping any path the issuer has. */
export function issuerUrl(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}

/**
 * The upstream's document with issuer, jwks_uri and token_endpoint pointing at scopegate. An mTLS
 * alias of the token endpoint (RFC 8705 §5) would lead clients around scopegate to the
 * upstream's broader tokens, so it is removed; the other aliases stay.
 */
export function rewriteDiscovery(
  document: DiscoveryDocument,
  issuer: string,
  tokenPath: string,
): DiscoveryDocument {
  const rewritten: DiscoveryDocument = {
    ...document,
    issuer,
    jwks_uri: issuerUrl(issuer, '/.well-known/jwks.json'),
    token_endpoint: issuerUrl(issuer, tokenPath),
  };
  const aliases = document.mtls_endpoint_aliases;
  if (typeof aliases === 'object' && aliases !== null && !Array.isArray(aliases)) {
    const { token_endpoint: _bypass, ...others } = aliases as Record<string, unknown>;
    if (Object.keys(others).length > 0) rewritten.mtls_endpoint_aliases = others;
    else delete rewritten.mtls_endpoint_aliases;
  }
  return rewritten;
}
