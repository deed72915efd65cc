/**
 * scopegate's discovery document, from the upstream's: every URL on scopegate's issuer, signing
 * algorithms scopegate's own, and what cannot work through scopegate removed (the field table
 * is in metadata-fields.ts and the README).
 */
import type { SigningKeySet } from '../keys/signing-keys.js';
import {
  ASSERTION_ALGORITHMS,
  type ClientAuthMethod,
  isJwtMethod,
  isTlsMethod,
  type JwtClientAuthMethod,
  type TlsClientAuthMethod,
} from '../rules/client-auth-methods.js';
import {
  type FieldTreatment,
  KEEP_LISTED_FIELD,
  listedTreatment,
  UNREACHABLE_CLIENT_AUTH,
} from '../rules/metadata-fields.js';
import type { Runtime } from '../runtime/runtime.js';
import { issuerUrl, rewriteDiscovery } from '../upstream/discovery.js';
import { anyProfile } from './client-profile.js';
import { embeddingKeyOf } from './embedded-upstream-token.js';
import { type ProfileMetadataContext, withProfileMetadata } from './profile-metadata.js';

export type MetadataDocument = Record<string, unknown>;

export interface MetadataContext {
  /** scopegate's issuer. */
  issuer: string;
  /** The intercepted upstream token path. */
  tokenPath: string;
  /** `upstream.url`: where proxied requests go (its path is the base they are appended to). */
  upstreamUrl: string;
  /** Algorithms that sign ID tokens: the default key's first (idTokenSigningAlgorithms). */
  signingAlgorithms: readonly string[];
  /**
   * Algorithms that sign access tokens: every active key's (token profiles pick theirs) and a next
   * key's. Defaults to signingAlgorithms.
   */
  accessTokenAlgorithms?: readonly string[];
  /** Whether scopegate refuses to proxy this upstream path (blocked paths). */
  isBlocked(path: string): boolean;
  /** Whether tokens.upstream_token_key is set, which userinfo through scopegate needs. */
  upstreamTokenKey?: boolean;
  /** Vendor fields the table does not name, kept by configuration (`discovery.keep_fields`). */
  keepFields?: readonly string[];
  /** `tokens.dpop.algorithms`: the DPoP proof algorithms scopegate verifies. */
  dpopAlgorithms?: readonly string[];
  /** The security profile and scopegate's PAR endpoint (profile-metadata.ts). */
  profile?: ProfileMetadataContext;
  /**
   * Whether some client's tokens are bound to its TLS client certificate
   * (`clients[].tls_client_certificate_bound_access_tokens`; the schema makes sure certificates
   * can reach scopegate then).
   */
  certificateBoundTokens?: boolean;
  /** JWT client authentication methods scopegate verifies for some configured client. */
  verifiedJwtMethods?: readonly JwtClientAuthMethod[];
  /** Mutual TLS client authentication methods scopegate verifies for some configured client. */
  verifiedTlsMethods?: readonly TlsClientAuthMethod[];
}

/**
 * The upstream's client authentication methods that work through scopegate, and the JWT methods
 * scopegate verifies itself. Absent stays absent while scopegate adds nothing: OpenID Connect
 * Discovery's default (client_secret_basic) is then still true.
 */
function clientAuthMethods(context: MetadataContext, upstream: unknown): string[] | undefined {
  const added = [...(context.verifiedJwtMethods ?? []), ...(context.verifiedTlsMethods ?? [])];
  const listed = Array.isArray(upstream)
    ? upstream.filter(
        (item): item is string =>
          typeof item === 'string' && !UNREACHABLE_CLIENT_AUTH.includes(item),
      )
    : undefined;
  if (added.length === 0) return listed;
  return [...new Set([...(listed ?? ['client_secret_basic']), ...added])];
}

/** The algorithms the configured JWT methods accept; absent when no client uses one. */
function clientAuthAlgorithms(context: MetadataContext): string[] | undefined {
  const methods = context.verifiedJwtMethods ?? [];
  if (methods.length === 0) return undefined;
  return methods.flatMap((method) => ASSERTION_ALGORITHMS[method]);
}

const OWN_VALUES: Record<string, (context: MetadataContext, upstream: unknown) => unknown> = {
  token_endpoint_auth_methods_supported: clientAuthMethods,
  introspection_endpoint_auth_methods_supported: clientAuthMethods,
  revocation_endpoint_auth_methods_supported: clientAuthMethods,
  token_endpoint_auth_signing_alg_values_supported: clientAuthAlgorithms,
  introspection_endpoint_auth_signing_alg_values_supported: clientAuthAlgorithms,
  revocation_endpoint_auth_signing_alg_values_supported: clientAuthAlgorithms,
  id_token_signing_alg_values_supported: (context) => [...context.signingAlgorithms],
  access_token_signing_alg_values_supported: (context) => [
    ...(context.accessTokenAlgorithms ?? context.signingAlgorithms),
  ],
  request_parameter_supported: () => false,
  request_uri_parameter_supported: () => false,
  dpop_signing_alg_values_supported: (context) =>
    context.dpopAlgorithms === undefined ? undefined : [...context.dpopAlgorithms],
  tls_client_certificate_bound_access_tokens: (context) =>
    context.certificateBoundTokens === true ? true : undefined,
};

/**
 * The URL through scopegate for an upstream URL, or undefined when the reverse proxy cannot reach
 * it: another host, or a path outside `upstream.url`'s base path (the proxy appends request paths
 * to that base), or a blocked path.
 */
export function throughScopegate(
  value: string,
  upstreamOrigins: ReadonlySet<string>,
  context: MetadataContext,
): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (!upstreamOrigins.has(url.origin)) return undefined;
  const path = pathBelowBase(url.pathname, context.upstreamUrl);
  if (path === undefined || context.isBlocked(path)) return undefined;
  return `${issuerUrl(context.issuer, path)}${url.search}`;
}

/**
 * An upstream path as a path below `upstream.url`'s base path (the reverse proxy appends request
 * paths to that base), or undefined when it is outside it.
 */
function pathBelowBase(upstreamPath: string, upstreamUrl: string): string | undefined {
  const base = new URL(upstreamUrl).pathname.replace(/\/+$/, '');
  if (base === '') return upstreamPath;
  if (upstreamPath !== base && !upstreamPath.startsWith(`${base}/`)) return undefined;
  return upstreamPath.slice(base.length) || '/';
}

/**
 * The URL scopegate advertises for an upstream endpoint it serves itself (userinfo): what a DPoP
 * proof's htu names. Undefined when the path is outside `upstream.url`'s base path.
 */
export function advertisedEndpointUrl(
  upstreamPath: string,
  issuer: string,
  upstreamUrl: string,
): string | undefined {
  const path = pathBelowBase(upstreamPath, upstreamUrl);
  return path === undefined ? undefined : issuerUrl(issuer, path);
}

/** The origins the upstream's URLs may use: `upstream.url`'s and its document's issuer's. */
function originsOf(document: MetadataDocument, upstreamUrl: string): Set<string> {
  const origins = new Set([new URL(upstreamUrl).origin]);
  if (typeof document.issuer === 'string') {
    try {
      origins.add(new URL(document.issuer).origin);
    } catch {
      // An issuer that is not a URL adds no origin.
    }
  }
  return origins;
}

function apply(
  name: string,
  value: unknown,
  treatment: FieldTreatment,
  origins: ReadonlySet<string>,
  context: MetadataContext,
): unknown {
  switch (treatment.kind) {
    case 'own':
      // An owned field without a value of scopegate's is left out, never the upstream's value.
      return Object.hasOwn(OWN_VALUES, name) ? OWN_VALUES[name]?.(context, value) : undefined;
    case 'dropped':
      return undefined;
    case 'endpoint':
      if (treatment.requires === 'upstream_token_key' && context.upstreamTokenKey !== true) {
        return undefined;
      }
      return typeof value === 'string' ? throughScopegate(value, origins, context) : undefined;
    case 'filtered':
      return Array.isArray(value)
        ? value.filter(
            (item) =>
              typeof item !== 'string' ||
              !(treatment.remove.includes(item) || treatment.removeIf?.(item) === true),
          )
        : undefined;
    case 'kept': {
      if (treatment !== KEEP_LISTED_FIELD || typeof value !== 'string') return value;
      // A keep-listed vendor field: a URL on the upstream is moved, an unreachable endpoint dropped.
      let url: URL | undefined;
      try {
        url = /^https?:\/\//i.test(value) ? new URL(value) : undefined;
      } catch {
        url = undefined;
      }
      if (url === undefined) return value;
      const moved = throughScopegate(value, origins, context);
      if (moved !== undefined) return moved;
      return origins.has(url.origin) || name.endsWith('_endpoint') ? undefined : value;
    }
  }
}

/**
 * Fields scopegate fills in for the JWT client authentication it verifies, with the endpoint
 * each describes: filled in only when the document advertises that endpoint.
 */
const CLIENT_AUTH_FIELDS: readonly (readonly [field: string, endpoint: string])[] = [
  ['token_endpoint_auth_methods_supported', 'token_endpoint'],
  ['token_endpoint_auth_signing_alg_values_supported', 'token_endpoint'],
  ['introspection_endpoint_auth_methods_supported', 'introspection_endpoint'],
  ['introspection_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint'],
  ['revocation_endpoint_auth_methods_supported', 'revocation_endpoint'],
  ['revocation_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint'],
];

export function publicMetadata(
  upstream: MetadataDocument,
  context: MetadataContext,
): MetadataDocument {
  const origins = originsOf(upstream, context.upstreamUrl);
  const base = rewriteDiscovery(upstream, context.issuer, context.tokenPath);
  const keep = new Set(context.keepFields ?? []);
  const document: MetadataDocument = {};
  for (const [name, value] of Object.entries(base)) {
    // Built from the table and the keep-list: a field neither names is left out.
    const treatment = listedTreatment(name) ?? (keep.has(name) ? KEEP_LISTED_FIELD : undefined);
    if (treatment === undefined) continue;
    // issuer, jwks_uri and token_endpoint are already scopegate's (rewriteDiscovery).
    const result =
      name === 'issuer' || name === 'jwks_uri' || name === 'token_endpoint'
        ? value
        : apply(name, value, treatment, origins, context);
    if (result !== undefined) document[name] = result;
  }
  // scopegate's own capabilities: advertised whether or not the upstream knows DPoP or mTLS.
  const dpop = OWN_VALUES.dpop_signing_alg_values_supported?.(context, undefined);
  if (dpop !== undefined) document.dpop_signing_alg_values_supported = dpop;
  // scopegate's own capabilities, whether or not the upstream's document names the field.
  for (const [name, endpoint] of CLIENT_AUTH_FIELDS) {
    if (Object.hasOwn(document, name) || !Object.hasOwn(document, endpoint)) continue;
    const own = OWN_VALUES[name]?.(context, undefined);
    if (own !== undefined) document[name] = own;
  }
  const bound = OWN_VALUES.tls_client_certificate_bound_access_tokens?.(context, undefined);
  if (bound !== undefined) document.tls_client_certificate_bound_access_tokens = bound;
  // Absent would mean true for request_uri_parameter_supported (OpenID Connect Discovery §3).
  document.request_parameter_supported = false;
  document.request_uri_parameter_supported = false;
  return context.profile === undefined ? document : withProfileMetadata(document, context.profile);
}

/**
 * The algorithms ID tokens are signed with: the default key's (signing.default_alg), then those of
 * `next` keys of an algorithm no key signs yet, which can only start signing by becoming the
 * default (a rotation to another algorithm: replicas sign with both while it rolls out).
 * Algorithms that only token profiles use, and retired keys', are left out: no ID token
 * carries them.
 */
export function idTokenSigningAlgorithms(keys: SigningKeySet): string[] {
  const signing = new Set<string>(keys.activeAlgorithms());
  const upcoming = keys.keys
    .filter((key) => key.status === 'next' && !signing.has(key.alg))
    .map((key) => key.alg);
  return [...new Set([keys.active.alg, ...upcoming])];
}

/** Algorithms of the keys that sign access tokens now (active) or next: retired keys sign none. */
export function accessTokenSigningAlgorithms(keys: SigningKeySet): string[] {
  return [
    ...new Set([
      keys.active.alg,
      ...keys.keys.filter((key) => key.status !== 'retired').map((key) => key.alg),
    ]),
  ];
}

/** The context for one configuration generation. */
export function metadataContextOf(runtime: Runtime): MetadataContext {
  const { config } = runtime;
  return {
    issuer: config.issuer,
    tokenPath: runtime.tokenPath,
    upstreamUrl: config.upstream.url,
    signingAlgorithms: idTokenSigningAlgorithms(runtime.signingKeys),
    accessTokenAlgorithms: accessTokenSigningAlgorithms(runtime.signingKeys),
    isBlocked: (path) => runtime.routes.isRefused(path),
    upstreamTokenKey: embeddingKeyOf(config) !== undefined,
    keepFields: config.discovery.keep_fields,
    dpopAlgorithms: config.tokens.dpop.algorithms,
    profile: { issuer: config.issuer, profile: config.profile, anyProfile: anyProfile(config) },
    certificateBoundTokens: config.clients.some(
      (rule) => rule.tls_client_certificate_bound_access_tokens === true,
    ),
    verifiedJwtMethods: configuredMethods(config, isJwtMethod),
    verifiedTlsMethods: configuredMethods(config, isTlsMethod),
  };
}

/** The client authentication methods of one kind some client is configured for, sorted. */
function configuredMethods<Method extends ClientAuthMethod>(
  config: Runtime['config'],
  isKind: (method: ClientAuthMethod) => method is Method,
): Method[] {
  const methods = new Set<Method>();
  for (const rule of config.clients) {
    const method = rule.token_endpoint_auth_method;
    if (method !== undefined && isKind(method)) methods.add(method);
  }
  return [...methods].sort();
}
