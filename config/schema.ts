/**
 * The configuration schema: the single source of validation, defaults and the shipped JSON Schema
 * (config/scopegate.schema.json is generated from it). Unknown keys are errors everywhere.
 */
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { isIP } from 'node:net';
import * as z from 'zod';
import { clientCertificateMode } from '../proxy/http/client-certificate.js';
import {
  CERTIFICATE_HEADER_FORMATS,
  CERTIFICATE_HEADER_NAMES,
  VERIFICATION_HEADER_NAMES,
} from '../proxy/http/client-certificate-headers.js';
import { parseRfc4514 } from '../proxy/http/distinguished-name.js';
import { jwkCertificate } from '../proxy/http/jwk-certificate.js';
import { canonicalPath } from '../proxy/http/request-target.js';
import { parseProxyEntry } from '../proxy/http/trusted-proxies.js';
import { carryNameRefusal, carryVerdictRefusal } from '../proxy/rules/carried-claims.js';
import { ALWAYS_CARRIED_CLAIMS, UNFIXABLE_CLAIMS } from '../proxy/rules/claim-names.js';
import {
  CLIENT_AUTH_METHODS,
  isJwtMethod,
  isTlsMethod,
  TLS_CLIENT_AUTH_NAMES,
} from '../proxy/rules/client-auth-methods.js';
import { configuredClaimRefusal } from '../proxy/rules/id-token-claims.js';
import { keepListRefusal } from '../proxy/rules/metadata-fields.js';
import {
  FAPI2_ALGORITHMS,
  FAPI2_CLIENT_AUTH_METHODS,
  FAPI2_MAX_CODE_LIFETIME_MS,
  FAPI2_REQUEST_URI_LIFETIME_MS,
  SECURITY_PROFILES,
} from '../proxy/rules/security-profile.js';
import { TOKEN_TYPS } from '../proxy/rules/token-typ.js';
import { parseScopeParameter } from '../proxy/scope/grammar.js';
import { paramPatternError } from '../proxy/scope/param-pattern.js';
import { templateSyntaxError } from '../proxy/scope/template.js';
import { DEFAULTS } from './defaults.js';
import { DURATION_PATTERN, parseDuration } from './duration.js';

/** Token response members scopegate writes or checks itself: not for the allowlist. */
const RESPONSE_MEMBERS_SCOPEGATE_OWNS = new Set([
  'access_token',
  'token_type',
  'expires_in',
  'scope',
  'refresh_token',
  'id_token',
]);

const duration = (what: string) =>
  z
    .string()
    .regex(new RegExp(DURATION_PATTERN), {
      message: 'invalid duration (use e.g. 500ms, 5s, 10m, 1h, 1h30m)',
    })
    .describe(what)
    .transform((text) => parseDuration(text) as number);

/** A scope parameter value (RFC 6749 §3.3): space-separated scope tokens. */
const scopeParameter = (what: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const parsed = parseScopeParameter(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
    })
    .describe(what);

/** More workers than this is a typing mistake, not a machine: each one is a whole Node.js process. */
export const MAX_WORKERS = 256;

const LISTEN_PATTERN = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})$/;
const listenAddress = z
  .string()
  .regex(LISTEN_PATTERN, {
    message: 'expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080',
    abort: true,
  })
  .refine((value) => Number(LISTEN_PATTERN.exec(value)?.[1]) <= 65535, {
    message: 'port must be between 0 and 65535',
  });

/** An upstream path scopegate routes on: it must have one canonical form, as requests must. */
const upstreamPath = z
  .string()
  .startsWith('/')
  .superRefine((path, ctx) => {
    const canonical = canonicalPath(path);
    if ('reason' in canonical) ctx.addIssue({ code: 'custom', message: canonical.reason });
  });

/** A 32-byte secret, base64url without padding. */
export const key32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, {
  message: 'expected 32 random bytes, base64url (e.g. `openssl rand 32 | basenc --base64url`)',
});

/** The upstream token cache's secret. */
export const cacheKeyValue = z
  .string()
  .min(32, { message: 'the cache key must be at least 32 characters' });

/** A password or client secret: any non-empty text. */
export const secretText = z.string().min(1);

/**
 * The `_file` form of a secret (Kubernetes mounts Secrets as files): read with the configuration,
 * at start and on every reload, by config/secret-files.ts, which checks its content as the inline
 * form is checked.
 */
const secretFile = (secret: string) =>
  z
    .string()
    .min(1)
    .optional()
    .describe(
      `File holding ${secret} (one trailing newline ignored; read again on every reload); relative to the config file`,
    );

/** One source per secret: the inline form (which may be \${ENV}) or the `_file` form, not both. */
function oneSecretSource(
  holder: Readonly<Record<string, unknown>>,
  name: string,
  ctx: z.core.$RefinementCtx,
): void {
  if (holder[name] !== undefined && holder[`${name}_file`] !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [`${name}_file`],
      message: `set ${name} or ${name}_file, not both`,
    });
  }
}

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

export const GRANT_TYPES = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'password',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
] as const;

export const SIGNING_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;

export const signingKey = z
  .strictObject({
    kid: z.string().min(1).max(128).describe('Key id, published in the JWKS and the JWT header'),
    alg: z.enum(SIGNING_ALGORITHMS).describe('Signing algorithm'),
    private_key_file: z
      .string()
      .min(1)
      .optional()
      .describe('PKCS#8 PEM or private JWK (JSON) file; relative to the config file'),
    private_key: z
      .string()
      .min(1)
      .optional()
      .describe('Inline PKCS#8 PEM or private JWK, usually from an environment variable'),
    status: z
      .enum(['next', 'active', 'retired'])
      .default('active')
      .describe('next: published, not signing; active: signs (exactly one); retired: published'),
    publish_until: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Retired keys only: stop publishing after this instant (RFC 3339)'),
  })
  .superRefine((key, ctx) => {
    const sources = [key.private_key_file, key.private_key].filter((v) => v !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'exactly one of private_key_file or private_key is required',
      });
    }
    if (key.publish_until !== undefined && key.status !== 'retired') {
      ctx.addIssue({
        code: 'custom',
        path: ['publish_until'],
        message: 'publish_until applies to retired keys only',
      });
    }
  });

const paramValidator = z
  .strictObject({
    enum: z
      .array(
        z
          .string()
          .min(1)
          .refine((value) => !value.includes('*') && !/\s/.test(value), {
            message: 'an enum value cannot contain * or whitespace: no parameter ever does',
          }),
      )
      .min(1)
      .optional()
      .describe('The parameter must be one of these'),
    pattern: z
      .string()
      .min(1)
      .optional()
      .describe('Regular expression the whole parameter must match (anchored)'),
    claim: z
      .string()
      .min(1)
      .optional()
      .describe('Claim of the verified upstream token the parameter must equal or be one of'),
  })
  .superRefine((validator, ctx) => {
    if (
      validator.enum === undefined &&
      validator.pattern === undefined &&
      validator.claim === undefined
    ) {
      ctx.addIssue({ code: 'custom', message: 'a validator needs enum, pattern or claim' });
    }
    if (validator.pattern !== undefined) {
      const problem = paramPatternError(validator.pattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
    }
  });

const scopePolicy = z
  .strictObject({
    template: z
      .string()
      .describe('A scope or a dynamic-scope template such as accounts.*.*')
      .superRefine((template, ctx) => {
        const problem = templateSyntaxError(template);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    grant_types: z
      .array(z.enum(GRANT_TYPES))
      .min(1)
      .optional()
      .describe('Grants that may obtain the scope (omitted: any)'),
    clients: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Client ids that may obtain the scope (omitted: any)'),
    params: z
      .array(paramValidator)
      .optional()
      .describe('Validators for params[0], params[1], ... of the matched template'),
  })
  .superRefine((policy, ctx) => {
    const wildcards = policy.template.split('.').filter((segment) => segment === '*').length;
    if (policy.params && policy.params.length > wildcards) {
      ctx.addIssue({
        code: 'custom',
        path: ['params'],
        message: `${policy.params.length} validators for a template with ${wildcards} parameter(s)`,
      });
    }
  });

/** Names a scope claim may take: `scope`, `scp` or a name of the profile's own. */
const SCOPE_CLAIM_NAMES_REFUSED = new Set(
  [...UNFIXABLE_CLAIMS].filter((name) => name !== 'scope' && name !== 'scp'),
);

const scopeClaim = z.strictObject({
  name: z
    .string()
    .min(1)
    .refine((name) => !SCOPE_CLAIM_NAMES_REFUSED.has(name), {
      message: 'scopegate sets this claim itself; a scope claim needs another name',
    })
    .describe('Claim name: scope, scp, or another (scopes, a namespaced claim)'),
  format: z
    .enum(['string', 'array'])
    .describe('string: space-delimited (RFC 9068); array: a JSON array of scope names'),
});

/**
 * A carry list (tokens.carry_claims, clients[].token.carry): upstream claim names an access token
 * keeps. One rule for both (proxy/rules/carried-claims.ts): never a claim scopegate sets or a
 * scope carrier; a claim tokens.authorization_claims drops is refused where that map is known.
 */
const carryList = z.array(
  z
    .string()
    .min(1)
    .superRefine((name, ctx) => {
      const refusal = carryNameRefusal(name);
      if (refusal !== undefined) ctx.addIssue({ code: 'custom', message: refusal });
    }),
);

/**
 * What a client's token looks like: it reshapes and renames what was issued, never widens it.
 * Lifetimes only shorten, scope claims carry the issued scopes only, fixed claims cannot name an
 * authorization claim, and carried claims are an allowlist of the upstream's.
 */
const tokenProfile = z
  .strictObject({
    lifetime: duration(
      'Longest lifetime of this client’s tokens; never longer than tokens.max_lifetime or the upstream token',
    )
      .optional()
      .refine((ms) => ms === undefined || ms >= 1000, { message: 'lifetime must be at least 1s' }),
    alg: z
      .enum(SIGNING_ALGORITHMS)
      .optional()
      .describe(
        'Sign with the active key of this algorithm (default: signing.default_alg); one must be configured',
      ),
    typ: z
      .enum(TOKEN_TYPS)
      .default(DEFAULTS.token_profile.typ)
      .describe('JWT header typ: at+jwt (RFC 9068), JWT, or none (no typ header)'),
    scope_claims: z
      .array(scopeClaim)
      .min(1)
      .optional()
      .describe(
        'Claims that carry the issued scopes, each in its shape (default: scope, in the rule’s scope_format or tokens.scope_format)',
      ),
    claims: z
      .record(z.string().min(1), z.json())
      .superRefine((claims, ctx) => {
        for (const name of Object.keys(claims)) {
          if (!UNFIXABLE_CLAIMS.has(name)) continue;
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message:
              'a fixed claim cannot be scope, scp, permissions, an authorization claim or a claim scopegate sets',
          });
        }
      })
      .optional()
      .describe(
        'Fixed claims added to every token (never scope, scp, permissions, an authorization claim or a claim scopegate sets)',
      ),
    carry: carryList
      .optional()
      .describe(
        `This client’s upstream claims kept, replacing tokens.carry_claims, the scope-released identity claims and kept authorization claims (identity claims listed stay gated by the issued scopes); ${[...ALWAYS_CARRIED_CLAIMS].join(', ')} are always kept`,
      ),
  })
  .superRefine((profile, ctx) => {
    const named = new Map<string, string>();
    const claim = (name: string, where: (string | number)[]) => {
      const first = named.get(name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: where, message: `"${name}" is already ${first}` });
      }
      named.set(name, `named in ${where[0]}`);
    };
    profile.scope_claims?.forEach((scope, index) => {
      claim(scope.name, ['scope_claims', index, 'name']);
    });
    for (const name of Object.keys(profile.claims ?? {})) claim(name, ['claims', name]);
    profile.carry?.forEach((name, index) => {
      claim(name, ['carry', index]);
    });
  });

/** A quota rate: at most N upstream token calls per second, minute or hour. */
export interface QuotaRate {
  calls: number;
  /** The window the calls are counted in, in seconds. */
  seconds: number;
}

const RATE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const RATE_PATTERN = /^([1-9][0-9]{0,8})\/([smh])$/;

const quotaRate = z
  .string()
  .regex(RATE_PATTERN, { message: 'expected calls per unit, such as 10/s, 600/m or 3600/h' })
  .transform((text): QuotaRate => {
    const [, calls, unit] = RATE_PATTERN.exec(text) as RegExpExecArray;
    return { calls: Number(calls), seconds: RATE_UNITS[unit as string] as number };
  });

/** The limits a quota scope has: a rate with a burst reserve, and calls in flight at once. */
const quotaLimitsShape = {
  rate: quotaRate
    .optional()
    .describe(
      'Upstream token calls allowed per second, minute or hour (10/s, 600/m), counted after the upstream token cache',
    ),
  burst: z
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .describe(
      'Calls allowed beyond rate from a reserve that refills every ten rate windows (needs rate; default 0)',
    ),
  concurrency: z
    .int()
    .min(1)
    .max(65536)
    .optional()
    .describe('Upstream token calls in flight at once, per replica'),
};

function checkQuotaLimits(
  limits: {
    rate?: QuotaRate | undefined;
    burst?: number | undefined;
    concurrency?: number | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (limits.burst !== undefined && limits.rate === undefined) {
    ctx.addIssue({ code: 'custom', path: ['burst'], message: 'burst needs rate' });
  }
  if (limits.rate === undefined && limits.concurrency === undefined) {
    ctx.addIssue({ code: 'custom', message: 'give rate, concurrency or both' });
  }
}

const clientQuota = z.strictObject(quotaLimitsShape).superRefine(checkQuotaLimits);

/** JWK members that only a private or symmetric key has (RFC 7518 §6): never in a client's JWKS. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** One public key of a client, as its JWK: RSA, EC or OKP, importable, nothing private. */
const clientJwk = z.record(z.string(), z.unknown()).superRefine((jwk, ctx) => {
  const privateMembers = PRIVATE_JWK_MEMBERS.filter((member) => Object.hasOwn(jwk, member));
  if (privateMembers.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `a private or symmetric key (${privateMembers.join(', ')}): publish public keys only`,
    });
    return;
  }
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') {
    ctx.addIssue({ code: 'custom', message: 'kty must be RSA, EC or OKP' });
    return;
  }
  try {
    createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a public key node can import' });
  }
});

/** True for a loopback host, where a test's key server may speak plain HTTP. */
function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.[0-9]{1,3}){3}$/.test(hostname)
  );
}

/** A client's JWKS URL: https, except on loopback (a key server beside scopegate, or a test). */
const clientJwksUri = httpUrl.refine((value) => {
  const url = new URL(value);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}, 'a client jwks_uri must be https (http only on loopback)');

/**
 * How scopegate authenticates to the upstream on behalf of a client it authenticated itself. One
 * object (not a union per method), so the reference lists every key; the refinement says which
 * keys each method takes.
 */
const upstreamAuth = z
  .strictObject({
    method: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
      .describe(
        'A secret sent as HTTP Basic or in the form, or an RFC 7523 assertion scopegate signs with key_file',
      ),
    client_id: z
      .string()
      .min(1)
      .optional()
      .describe("The client's id at the upstream (default: its client_id)"),
    client_secret: secretText
      .optional()
      .describe("client_secret_basic/post: the client's secret at the upstream"),
    client_secret_file: secretFile("the client's secret at the upstream"),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'private_key_jwt: private key registered at the upstream for the client (PKCS#8 PEM or a private JWK); relative to the config file; read again on every reload',
      ),
    kid: z.string().min(1).optional().describe("private_key_jwt: the key's kid at the upstream"),
    alg: z
      .enum(SIGNING_ALGORITHMS)
      .optional()
      .describe('private_key_jwt: signing algorithm of the assertion'),
    audience: z
      .enum(['token_endpoint', 'issuer'])
      .optional()
      .describe(
        "private_key_jwt: the assertion's aud, the upstream's token endpoint URL (the default) or its issuer (Auth0 wants the issuer)",
      ),
  })
  .superRefine((auth, ctx) => {
    const problem = (key: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [key], message });
    if (auth.method === 'private_key_jwt') {
      if (auth.key_file === undefined) problem('key_file', 'private_key_jwt needs key_file');
      if (auth.alg === undefined) problem('alg', 'private_key_jwt needs alg');
      for (const key of ['client_secret', 'client_secret_file'] as const) {
        if (auth[key] !== undefined) problem(key, 'not used by private_key_jwt');
      }
      return;
    }
    for (const key of ['key_file', 'kid', 'alg', 'audience'] as const) {
      if (auth[key] !== undefined) problem(key, `not used by ${auth.method}`);
    }
    const sources = [auth.client_secret, auth.client_secret_file].filter(
      (value) => value !== undefined,
    );
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'exactly one of client_secret or client_secret_file is required',
      });
    }
  });

const clientRule = z.strictObject({
  client_id: z.string().min(1).describe('Client id the rule applies to'),
  audience: z.string().min(1).optional().describe('Only for this audience'),
  scope_format: z
    .enum(['string', 'array'])
    .optional()
    .describe(
      'Shape of the scope claim for this client (shorthand for token.scope_claims [{name: scope, format}])',
    ),
  token: tokenProfile
    .optional()
    .describe(
      'Token profile: lifetime, signing algorithm, typ, scope claims, fixed and carried claims',
    ),
  cache: z
    .boolean()
    .optional()
    .describe(
      "Keep this client's upstream client-credentials answers in cache.upstream_tokens (secret-authenticated requests only)",
    ),
  upstream_scope: scopeParameter(
    'Scope asked of the upstream for this client when it asks for none or the mode is omit (default: upstream.default_scope)',
  ).optional(),
  upstream_quota: clientQuota
    .optional()
    .describe(
      "Limits on this client's upstream token calls (cache hits are free); the store is upstream.quota's",
    ),
  profile: z
    .enum(SECURITY_PROFILES)
    .optional()
    .describe(
      'Security profile this client is held to (fapi2: the FAPI 2.0 Security Profile); set on a rule without audience',
    ),
  redirect_uris: z
    .array(httpUrl)
    .min(1)
    .optional()
    .describe(
      "The client's registered redirect URIs: a pushed authorization request must name one exactly (default: any, left to the upstream); set on a rule without audience",
    ),
  dpop: z
    .enum(['required', 'allowed', 'off'])
    .optional()
    .describe(
      `DPoP for this client: required (a token request without a proof is refused), allowed (a proof, when sent, binds the token; the default: ${DEFAULTS.client.dpop}) or off (a token request with a proof is refused)`,
    ),
  tls_client_certificate_bound_access_tokens: z
    .boolean()
    .optional()
    .describe(
      `RFC 8705 §3: bind this client's access tokens to its TLS client certificate (cnf x5t#S256; token_type stays Bearer). A token request without a certificate is refused, and so is one with a DPoP proof (one binding per client). Default: ${DEFAULTS.client.tls_client_certificate_bound_access_tokens}`,
    ),
  token_endpoint_auth_method: z
    .enum(CLIENT_AUTH_METHODS)
    .optional()
    .describe(
      "How this client must authenticate at scopegate's token, revocation and introspection endpoints, checked by scopegate (absent: its authentication is forwarded to the upstream as received)",
    ),
  jwks: z
    .strictObject({ keys: z.array(clientJwk).min(1).max(100) })
    .optional()
    .describe("private_key_jwt: the client's public keys, inline"),
  jwks_uri: clientJwksUri
    .optional()
    .describe(
      "private_key_jwt: where the client publishes its public keys (https; cached within client_auth.jwks_uri's bounds, fetched again for an unknown kid)",
    ),
  client_secret: secretText
    .optional()
    .describe(
      "The client's secret, which scopegate checks (client_secret_basic/post with upstream_auth) or verifies assertions with (client_secret_jwt)",
    ),
  client_secret_file: secretFile("the client's secret"),
  upstream_auth: upstreamAuth
    .optional()
    .describe(
      'How scopegate authenticates to the upstream for this client once it authenticated the client itself: a secret (Basic or form) or its own private_key_jwt assertion',
    ),
  tls_client_auth_subject_dn: z
    .string()
    .min(1)
    .refine((dn) => parseRfc4514(dn) !== undefined, 'expected an RFC 4514 distinguished name')
    .optional()
    .describe(
      'tls_client_auth: the subject of the client certificate, as an RFC 4514 string (CN=client,O=Example,C=SE); compared as a name (attribute types by OID, values case- and space-insensitively)',
    ),
  tls_client_auth_san_dns: z
    .string()
    .min(1)
    .optional()
    .describe('tls_client_auth: a dNSName SAN the client certificate carries (case-insensitive)'),
  tls_client_auth_san_uri: z
    .string()
    .min(1)
    .optional()
    .describe('tls_client_auth: a uniformResourceIdentifier SAN the client certificate carries'),
  tls_client_auth_san_ip: z
    .string()
    .refine((ip) => isIP(ip) !== 0, 'expected an IPv4 or IPv6 address')
    .optional()
    .describe('tls_client_auth: an iPAddress SAN the client certificate carries'),
  tls_client_auth_san_email: z
    .string()
    .min(1)
    .optional()
    .describe('tls_client_auth: an rfc822Name SAN the client certificate carries'),
});

const introspectionClient = z
  .strictObject({
    endpoint: httpUrl
      .optional()
      .describe(
        "Introspection endpoint (default: the upstream discovery's introspection_endpoint)",
      ),
    client_id: z.string().min(1).describe("scopegate's own client id at the upstream"),
    client_secret: z
      .string()
      .min(1)
      .optional()
      .describe('Its secret, usually from an environment variable'),
    client_secret_file: secretFile('the secret'),
    auth_method: z
      .enum(['client_secret_basic', 'client_secret_post'])
      .default(DEFAULTS.upstream.introspection.auth_method)
      .describe('How scopegate authenticates to the introspection endpoint'),
    jwt_response: z
      .enum(['prefer', 'require', 'never'])
      .default(DEFAULTS.upstream.introspection.jwt_response)
      .describe(
        'RFC 9701 signed answers: prefer (ask for one, accept JSON), require (refuse JSON answers), never (ask for JSON)',
      ),
    cache_max_age: duration(
      "Longest time an accepted answer is reused (never past the token's exp less tokens.min_lifetime); a token revoked at the upstream is accepted that long. 0s: ask every time",
    ).prefault(DEFAULTS.upstream.introspection.cache_max_age),
  })
  .superRefine((client, ctx) => {
    const sources = [client.client_secret, client.client_secret_file].filter(
      (value) => value !== undefined,
    );
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'exactly one of client_secret or client_secret_file is required',
      });
    }
  });

/** An egress proxy URL: http(s), credentials allowed, nothing after the authority. */
export function isProxyUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    (url.pathname === '/' || url.pathname === '') &&
    url.search === '' &&
    url.hash === ''
  );
}
const proxyUrl = z
  .string()
  .refine(
    isProxyUrl,
    'expected an http(s) proxy URL with a host and port only, such as http://proxy.corp:3128',
  );

/** TLS towards the upstream; the files are read (and checked) with each configuration generation. */
const upstreamTls = z
  .strictObject({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        "PEM certificates trusted for the upstream's (and the proxy's) TLS; relative to the config file",
      ),
    ca_mode: z
      .enum(['add', 'replace'])
      .default(DEFAULTS.upstream.tls.ca_mode)
      .describe("ca_file added to Node's default roots (add), or trusted alone (replace)"),
    cert_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM client certificate (chain) scopegate presents to the upstream (mutual TLS); relative to the config file',
      ),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM private key of cert_file (unencrypted); relative to the config file'),
    server_name: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Name sent as SNI and checked in the upstream's certificate (default: the URL's host)",
      ),
  })
  .superRefine((tls, ctx) => {
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [tls.cert_file === undefined ? 'cert_file' : 'key_file'],
        message: 'cert_file and key_file go together',
      });
    }
  });

/**
 * TLS on the public listener (proxy/server/server-tls.ts); the files are read with each
 * configuration generation, and a reload replaces the certificate for new connections.
 */
const serverTls = z
  .strictObject({
    cert_file: z
      .string()
      .min(1)
      .describe(
        'PEM certificate (chain, leaf first) of the public listener; relative to the config file',
      ),
    key_file: z
      .string()
      .min(1)
      .describe('PEM private key of cert_file (unencrypted); relative to the config file'),
    client_ca_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM bundle of the CAs client certificates are verified against (mutual TLS); relative to the config file',
      ),
    client_certificate: z
      .enum(['off', 'optional', 'required'])
      .optional()
      .describe(
        'Ask clients for a certificate: off; optional (asked, never required: one that does not chain to client_ca_file, self-signed ones included, is accepted and recorded as not chained); required (the handshake fails without one that chains to client_ca_file). Default: optional with client_ca_file, off without',
      ),
    min_version: z
      .enum(['TLSv1.2', 'TLSv1.3'])
      .default(DEFAULTS.server.tls.min_version as 'TLSv1.2')
      .describe('Lowest TLS version accepted'),
    ciphers: z
      .string()
      .min(1)
      .optional()
      .describe(
        "OpenSSL cipher list for TLS 1.2 (TLS 1.3's suites are not affected); default: Node.js's",
      ),
  })
  .superRefine((tls, ctx) => {
    if (tls.client_certificate === 'required' && tls.client_ca_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_ca_file'],
        message: 'client_certificate: required verifies client certificates against client_ca_file',
      });
    }
    if (tls.client_certificate === 'off' && tls.client_ca_file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_ca_file'],
        message: 'client_certificate: off asks for no client certificate: remove client_ca_file',
      });
    }
  });

/** The header an ingress that terminates TLS passes the client certificate in. */
const clientCertificateHeader = z.strictObject({
  name: z
    .enum(CERTIFICATE_HEADER_NAMES)
    .describe(
      'Header carrying the client certificate, read only from server.trusted_proxies (x-forwarded-client-cert for Envoy, ssl-client-cert for ingress-nginx)',
    ),
  format: z
    .enum(CERTIFICATE_HEADER_FORMATS)
    .describe(
      "xfcc (Envoy: the last element's Cert), pem-urlencoded (ingress-nginx, AWS ALB) or rfc9440 (Client-Cert)",
    ),
  verified: z
    .enum(['none', 'always', 'header'])
    .default(DEFAULTS.server.client_certificate_header.verified as 'none')
    .describe(
      'Whether the ingress verified the certificate against its client CAs: none (never counted as chained), always (it forwards only certificates it verified), header (when verified_header is SUCCESS)',
    ),
  verified_header: z
    .enum(VERIFICATION_HEADER_NAMES)
    .default(DEFAULTS.server.client_certificate_header.verified_header as 'ssl-client-verify')
    .describe(
      "The ingress's verification header, for verified: header (ingress-nginx: ssl-client-verify)",
    ),
});

/** `scrypt$<salt>$<key>`, both base64url: what `scopegate`'s README one-liner prints. */
export const SECRET_HASH_PATTERN = /^scrypt\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}$/;

const exchangeClient = z.strictObject({
  client_id: z.string().min(1).describe('Client id presented on token exchange requests'),
  secret_hash: z
    .string()
    .regex(SECRET_HASH_PATTERN, {
      message: 'expected scrypt$<salt>$<key> (base64url; see the README for the one-liner)',
    })
    .describe('scrypt hash of its secret, never the secret itself'),
});

const exchangeRetarget = z.strictObject({
  from: z.string().min(1).describe("A subject token's audience"),
  to: z.array(z.string().min(1)).min(1).describe('Audiences it may be exchanged to'),
  clients: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Authenticated clients that may do so (omitted: any authenticated client)'),
});

/** How scopegate checks JWT client assertions (clients[].token_endpoint_auth_method). */
const clientAuthSettings = z.strictObject({
  assertion_max_lifetime: duration(
    'Longest an assertion may be valid: exp no later than this after its iat (and after now); the jti is remembered that long',
  ).prefault(DEFAULTS.client_auth.assertion_max_lifetime),
  jwks_uri: z
    .strictObject({
      timeout: duration('Deadline of one fetch of a client’s jwks_uri').prefault(
        DEFAULTS.client_auth.jwks_uri.timeout,
      ),
      max_age: duration(
        'How long fetched keys are used before they are fetched again; also how long they stay usable while the jwks_uri fails',
      ).prefault(DEFAULTS.client_auth.jwks_uri.max_age),
      cooldown: duration(
        'Least time between two fetches of one client’s JWKS caused by an unknown kid, so assertions naming made-up kids cannot drive fetches',
      ).prefault(DEFAULTS.client_auth.jwks_uri.cooldown),
    })
    .prefault({})
    .describe('Fetching the JWKS of clients configured with jwks_uri'),
});

const tokenExchange = z
  .strictObject({
    enabled: z
      .boolean()
      .default(DEFAULTS.token_exchange.enabled)
      .describe('Serve RFC 8693 token exchange at the token endpoint (off: forwarded upstream)'),
    client_auth: z
      .enum(['optional', 'required'])
      .default(DEFAULTS.token_exchange.client_auth)
      .describe(
        'optional: anyone holding a token may narrow it; required: only listed clients may exchange',
      ),
    accept_upstream_tokens: z
      .boolean()
      .default(DEFAULTS.token_exchange.accept_upstream_tokens)
      .describe("Accept the upstream's tokens as subject and actor tokens, not only scopegate's"),
    clients: z
      .array(exchangeClient)
      .default([])
      .describe('Clients that authenticate to exchange (needed to change the audience)'),
    retarget: z
      .array(exchangeRetarget)
      .default([])
      .describe('Audience changes allowed to authenticated clients'),
  })
  .superRefine((exchange, ctx) => {
    const seen = new Set<string>();
    exchange.clients.forEach((client, index) => {
      if (seen.has(client.client_id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['clients', index, 'client_id'],
          message: `duplicate client_id "${client.client_id}"`,
        });
      }
      seen.add(client.client_id);
    });
    if (exchange.client_auth === 'required' && exchange.clients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients'],
        message: 'client_auth required needs at least one client',
      });
    }
  });

/** A Redis Sentinel, Cluster or seed node: `host:port` (an IPv6 host in brackets). */
const redisNode = z.string().regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$/, {
  message: 'expected host:port (an IPv6 host in brackets: [::1]:26379)',
});

const redisSentinel = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .describe("Name of the monitored primary, as in the sentinels' `sentinel monitor NAME ...`"),
    nodes: z
      .array(redisNode)
      .min(1)
      .describe(
        'Sentinels asked for the current primary, host:port each (list every one: any of them answers)',
      ),
    password: secretText
      .optional()
      .describe("The sentinels' own password (requirepass of the sentinels), when they have one"),
    password_file: secretFile("the sentinels' password"),
  })
  .superRefine((sentinel, ctx) => oneSecretSource(sentinel, 'password', ctx));

const redisCluster = z
  .strictObject({
    nodes: z
      .array(redisNode)
      .min(1)
      .describe(
        'Seed nodes of the Redis Cluster, host:port each: any one that answers gives the slot map (list several)',
      ),
    password: secretText
      .optional()
      .describe(
        "The cluster nodes' password (AUTH), when they have one; instead of redis.password",
      ),
    password_file: secretFile("the cluster nodes' password"),
  })
  .superRefine((cluster, ctx) => oneSecretSource(cluster, 'password', ctx));

/** The ways to reach Redis: one of them per connection. */
const REDIS_TOPOLOGIES = ['url', 'sentinel', 'cluster'] as const;

/** A Redis connection: its defaults, and what happens when a command misses its deadline. */
const redisConnection = (defaults: { key_prefix: string; timeout: string }, onTimeout: string) =>
  z
    .strictObject({
      url: z
        .string()
        .regex(/^(?:rediss?:\/\/|unix:\/)/, {
          message: 'expected redis://host:port, rediss://host:port or unix:///path/to/socket',
        })
        .optional()
        .describe(
          'One Redis server: redis://[user:password@]host:port[/db], rediss://... or unix:///path (or sentinel, or cluster)',
        ),
      sentinel: redisSentinel
        .optional()
        .describe(
          'Redis behind Sentinel: the primary is asked of the sentinels and found again after a failover (instead of url)',
        ),
      cluster: redisCluster
        .optional()
        .describe(
          'A Redis Cluster: keys are spread over its primaries by slot, and a promoted replica takes over after a failover (instead of url)',
        ),
      key_prefix: z
        .string()
        .default(defaults.key_prefix)
        .describe('Prefix of every key scopegate writes'),
      timeout: duration(`Deadline per Redis command; ${onTimeout}`).prefault(defaults.timeout),
      password: secretText
        .optional()
        .describe(
          'Redis password (AUTH), usually from an environment variable; instead of one in url',
        ),
      password_file: secretFile('the Redis password'),
    })
    .superRefine((redis, ctx) => {
      oneSecretSource(redis, 'password', ctx);
      const given = REDIS_TOPOLOGIES.filter((topology) => redis[topology] !== undefined);
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: given.length === 0 ? [] : [given[1] as string],
          message:
            given.length === 0
              ? 'give url (one server), sentinel (name and nodes) or cluster (nodes)'
              : `give one of url, sentinel and cluster, not ${given.join(' and ')}`,
        });
      }
      if (
        (redis.password !== undefined || redis.password_file !== undefined) &&
        (redis.cluster?.password !== undefined || redis.cluster?.password_file !== undefined)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', redis.cluster?.password !== undefined ? 'password' : 'password_file'],
          message:
            'the password is in cluster and in redis password or password_file: give it once',
        });
      }
      if (
        (redis.password !== undefined || redis.password_file !== undefined) &&
        redis.url !== undefined &&
        /^rediss?:\/\/[^/@]*:[^/@]*@/.test(redis.url)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: 'the password is in url and in password or password_file: give it once',
        });
      }
    });

const redisSettings = redisConnection(
  DEFAULTS.cache.upstream_tokens.redis,
  'beyond it the in-process cache answers instead',
);

const revocationSettings = z
  .strictObject({
    store: z
      .enum(['memory', 'redis'])
      .default(DEFAULTS.tokens.revocation.store)
      .describe(
        'Where revoked scopegate tokens are remembered until they expire: memory (per process) or redis (shared by replicas)',
      ),
    max_entries: z
      .number()
      .int()
      .min(1)
      .default(DEFAULTS.tokens.revocation.max_entries)
      .describe(
        'Revoked tokens remembered in process at once; when full, a revocation is 503 until one expires',
      ),
    redis: redisConnection(
      DEFAULTS.tokens.revocation.redis,
      'beyond it (or with Redis unreachable) requests that need the list are 503',
    )
      .optional()
      .describe('Required when store is redis'),
  })
  .superRefine((revocation, ctx) => {
    if (revocation.store === 'redis' && revocation.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'store redis needs redis (url, sentinel or cluster)',
      });
    }
  });

/** DPoP (RFC 9449): the proofs scopegate accepts, and its nonces. */
const dpopSettings = z.strictObject({
  algorithms: z
    .array(z.enum(SIGNING_ALGORITHMS))
    .min(1)
    .default([...DEFAULTS.tokens.dpop.algorithms])
    .describe(
      'Algorithms a DPoP proof may be signed with (asymmetric only: none and HS* are never accepted); advertised as dpop_signing_alg_values_supported',
    ),
  max_age: duration(
    "Oldest a proof's iat may be; its jti is remembered that long (plus clock_skew) to refuse a replay",
  ).prefault(DEFAULTS.tokens.dpop.max_age),
  clock_skew: duration(
    "How far a proof's iat may be in the future, and older than max_age, for clients whose clocks differ",
  ).prefault(DEFAULTS.tokens.dpop.clock_skew),
  nonce: z
    .strictObject({
      key: key32
        .optional()
        .describe(
          'Secret (32 bytes, base64url) nonces are derived from; every replica with it accepts the nonces of the others',
        ),
      key_file: secretFile('the nonce key'),
      lifetime: duration(
        'A nonce is accepted for one to two lifetimes; then the client is sent a fresh one with use_dpop_nonce',
      ).prefault(DEFAULTS.tokens.dpop.nonce.lifetime),
    })
    .superRefine((nonce, ctx) => {
      oneSecretSource(nonce, 'key', ctx);
      if (nonce.key === undefined && nonce.key_file === undefined) {
        ctx.addIssue({ code: 'custom', path: ['key'], message: 'nonces need key or key_file' });
      }
    })
    .optional()
    .describe(
      'Server nonces (RFC 9449 section 8): with this block every proof must carry a nonce scopegate issued (DPoP-Nonce); stateless, shared by replicas through the key',
    ),
});

const replaySettings = z
  .strictObject({
    store: z
      .enum(['memory', 'redis'])
      .default(DEFAULTS.tokens.replay.store)
      .describe(
        'Where one-time values (DPoP proof and client assertion jti) are remembered until their window ends: memory (per process) or redis (shared by replicas, so a value used at one is refused at all)',
      ),
    max_entries: z
      .number()
      .int()
      .min(1)
      .default(DEFAULTS.tokens.replay.max_entries)
      .describe(
        'One-time values remembered in process at once; when full, requests that present one are 503 until some expire',
      ),
    redis: redisConnection(
      DEFAULTS.tokens.replay.redis,
      'beyond it (or with Redis unreachable) requests that present a one-time value are 503',
    )
      .optional()
      .describe('Required when store is redis'),
  })
  .superRefine((replay, ctx) => {
    if (replay.store === 'redis' && replay.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'store redis needs redis (url, sentinel or cluster)',
      });
    }
  });

const pushedAuthorization = z
  .strictObject({
    request_uri_lifetime: duration(
      "expires_in of the request_uri scopegate's PAR endpoint answers (5s to 600s)",
    ).prefault(DEFAULTS.pushed_authorization.request_uri_lifetime),
    login_timeout: duration(
      'How long a user may take between the authorization request and its response (the login at the upstream)',
    ).prefault(DEFAULTS.pushed_authorization.login_timeout),
    code_lifetime: duration(
      'How long an authorization code is redeemable after scopegate saw it pass (at most 60s)',
    ).prefault(DEFAULTS.pushed_authorization.code_lifetime),
    store: z
      .enum(['memory', 'redis'])
      .default(DEFAULTS.pushed_authorization.store)
      .describe(
        'Where pushed requests, authorizations under way and code bindings are kept: memory (per process) or redis (shared by replicas, which a deployment of more than one needs)',
      ),
    max_entries: z
      .number()
      .int()
      .min(1)
      .default(DEFAULTS.pushed_authorization.max_entries)
      .describe(
        'Entries kept in process at once; when full, new pushed requests are 503 until some expire',
      ),
    redis: redisConnection(
      DEFAULTS.pushed_authorization.redis,
      'beyond it (or with Redis unreachable) the request is 503',
    )
      .optional()
      .describe('Required when store is redis'),
  })
  .superRefine((settings, ctx) => {
    const { min, max } = FAPI2_REQUEST_URI_LIFETIME_MS;
    if (settings.request_uri_lifetime < min || settings.request_uri_lifetime > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['request_uri_lifetime'],
        message: 'between 5s and 600s (FAPI 2.0 Security Profile)',
      });
    }
    if (settings.code_lifetime > FAPI2_MAX_CODE_LIFETIME_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['code_lifetime'],
        message: 'at most 60s (FAPI 2.0 Security Profile)',
      });
    }
    if (settings.store === 'redis' && settings.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'store redis needs redis (url, sentinel or cluster)',
      });
    }
  });

const upstreamQuota = z
  .strictObject({
    ...quotaLimitsShape,
    store: z
      .enum(['memory', 'redis'])
      .default(DEFAULTS.upstream.quota.store)
      .describe(
        'Where rates and upstream pauses are counted, for this and every clients[].upstream_quota: memory (per replica) or redis (shared by replicas; per replica while Redis fails)',
      ),
    redis: redisConnection(
      DEFAULTS.upstream.quota.redis,
      'beyond it (or with Redis unreachable) the replica counts alone',
    )
      .optional()
      .describe('Required when store is redis'),
    on_upstream_429: z
      .enum(['all', 'client'])
      .default(DEFAULTS.upstream.quota.on_upstream_429)
      .describe(
        "An upstream 429 with Retry-After pauses token calls of all clients (a tenant's quota, as Auth0's) or of the client that got it",
      ),
    max_pause: duration("Longest pause an upstream 429 or 503's Retry-After starts").prefault(
      DEFAULTS.upstream.quota.max_pause,
    ),
    breaker: z
      .strictObject({
        failures: z
          .int()
          .min(1)
          .max(1000)
          .default(DEFAULTS.upstream.quota.breaker.failures)
          .describe(
            'Failed upstream token calls in a row (unreachable, timed out, 5xx) that open the breaker',
          ),
        open_for: duration(
          'How long an open breaker refuses token calls (503) before one probe call may go',
        ).prefault(DEFAULTS.upstream.quota.breaker.open_for),
      })
      .optional()
      .describe('A circuit breaker on upstream token calls, per replica (default: none)'),
  })
  .superRefine((quota, ctx) => {
    if (quota.burst !== undefined && quota.rate === undefined) {
      ctx.addIssue({ code: 'custom', path: ['burst'], message: 'burst needs rate' });
    }
    if (quota.store === 'redis' && quota.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'store redis needs redis (url or sentinel)',
      });
    }
  });

const upstreamTokenCache = z
  .strictObject({
    backend: z
      .enum(['memory', 'redis'])
      .default(DEFAULTS.cache.upstream_tokens.backend)
      .describe('memory: per process; redis: shared by replicas (in-process when Redis fails)'),
    key: cacheKeyValue
      .optional()
      .describe(
        'Secret (at least 32 characters) that cache keys are HMACed and Redis entries encrypted with; required (or key_file) when a client rule sets cache',
      ),
    key_file: secretFile('the cache key'),
    max_ttl: duration(
      'Longest time an upstream answer is used, whoever kept it: checked on every read',
    ).prefault(DEFAULTS.cache.upstream_tokens.max_ttl),
    expiry_margin: duration('Entries end this long before the upstream token expires').prefault(
      DEFAULTS.cache.upstream_tokens.expiry_margin,
    ),
    max_entries: z
      .number()
      .int()
      .min(1)
      .default(DEFAULTS.cache.upstream_tokens.max_entries)
      .describe('Upstream answers kept in process'),
    redis: redisSettings.optional().describe('Required when backend is redis'),
  })
  .superRefine((cache, ctx) => {
    if (cache.backend === 'redis' && cache.redis === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'backend redis needs redis (url, sentinel or cluster)',
      });
    }
    oneSecretSource(cache, 'key', ctx);
  });

export const configSchema = z
  .strictObject({
    listen: listenAddress
      .default(DEFAULTS.listen)
      .describe('Public listener: proxy, token endpoint, JWKS, discovery'),
    admin_listen: listenAddress.optional().describe('Admin listener: /metrics, /healthz, /readyz'),
    issuer: httpUrl.describe('iss of issued tokens; discovery and JWKS describe it'),
    upstream: z
      .strictObject({
        url: httpUrl.describe('Base URL of the upstream IdP; everything is proxied here'),
        token_path: upstreamPath
          .optional()
          .describe(
            "The intercepted token endpoint path (default: the path of the upstream discovery document's token_endpoint, which must agree when both are known)",
          ),
        discovery_path: z
          .string()
          .startsWith('/')
          .default(DEFAULTS.upstream.discovery_path)
          .describe("Path of the upstream's discovery document"),
        issuer: z
          .string()
          .min(1)
          .optional()
          .describe('Expected iss of upstream tokens (default: from discovery)'),
        jwks_uri: httpUrl.optional().describe('Upstream JWKS (default: from discovery)'),
        scope_request: z
          .enum(['forward', 'omit', 'templates'])
          .default(DEFAULTS.upstream.scope_request)
          .describe('What scope to ask the upstream for'),
        default_scope: scopeParameter(
          'Scope asked of the upstream when the client asks for none or the mode is omit, for IdPs that require one (default: none sent)',
        ).optional(),
        timeout: duration('Timeout of each upstream request').prefault(DEFAULTS.upstream.timeout),
        algorithms: z
          .array(z.enum(SIGNING_ALGORITHMS))
          .min(1)
          .default([...DEFAULTS.upstream.algorithms])
          .describe('Algorithms accepted on upstream tokens'),
        jwks_max_age: duration('How long fetched upstream keys are fresh').prefault(
          DEFAULTS.upstream.jwks_max_age,
        ),
        jwks_cooldown: duration('Minimum time between refetches on an unknown kid').prefault(
          DEFAULTS.upstream.jwks_cooldown,
        ),
        jwks_stale_if_error: duration(
          'How long stale upstream keys may be used while the JWKS endpoint fails',
        ).prefault(DEFAULTS.upstream.jwks_stale_if_error),
        discovery_max_age: duration('How long the upstream discovery document is cached').prefault(
          DEFAULTS.upstream.discovery_max_age,
        ),
        blocked_paths: z
          .array(upstreamPath)
          .default([...DEFAULTS.upstream.blocked_paths])
          .describe(
            'Upstream paths never proxied (404), with everything below them: other endpoints that issue tokens',
          ),
        token_format: z
          .enum(['jwt', 'opaque', 'auto'])
          .default(DEFAULTS.upstream.token_format)
          .describe(
            'Upstream access tokens: jwt (verified with the upstream keys), opaque (introspected), auto (a JWS is verified, anything else introspected)',
          ),
        proxy: proxyUrl
          .optional()
          .describe(
            'Egress proxy for every upstream call, credentials allowed (default: HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment)',
          ),
        tls: upstreamTls
          .optional()
          .describe('TLS towards the upstream: private CA, client certificate'),
        max_connections: z
          .int()
          .min(1)
          .max(65536)
          .default(DEFAULTS.upstream.max_connections)
          .describe('Most connections open to one upstream host (the keep-alive pool)'),
        quota: upstreamQuota
          .optional()
          .describe(
            "Protects the upstream's quota: limits on all upstream token calls together, and where every limit and upstream pause is counted",
          ),
        introspection: introspectionClient
          .optional()
          .describe(
            'RFC 7662 introspection of opaque upstream tokens (token_format opaque or auto)',
          ),
      })
      .superRefine((upstream, ctx) => {
        if (upstream.token_format !== 'jwt' && upstream.introspection === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['introspection'],
            message: `token_format ${upstream.token_format} needs introspection (client_id and a secret)`,
          });
        }
      }),
    signing: z.strictObject({
      keys: z
        .array(signingKey)
        .min(1)
        .describe('Signing keys; one active per algorithm')
        .superRefine((keys, ctx) => {
          const active = keys.filter((key) => key.status === 'active');
          if (active.length === 0) {
            ctx.addIssue({ code: 'custom', message: 'a key must have status active (found none)' });
          }
          const activeAlgs = new Set<string>();
          keys.forEach((key, index) => {
            if (key.status !== 'active') return;
            if (activeAlgs.has(key.alg)) {
              ctx.addIssue({
                code: 'custom',
                path: [index, 'status'],
                message: `a second active ${key.alg} key: one key per algorithm signs (make one next or retired)`,
              });
            }
            activeAlgs.add(key.alg);
          });
          const seen = new Set<string>();
          keys.forEach((key, index) => {
            if (seen.has(key.kid)) {
              ctx.addIssue({
                code: 'custom',
                path: [index, 'kid'],
                message: `duplicate kid "${key.kid}"`,
              });
            }
            seen.add(key.kid);
          });
        }),
      default_alg: z
        .enum(SIGNING_ALGORITHMS)
        .optional()
        .describe(
          'Algorithm of the active key that signs tokens without a profile alg, and ID tokens; required when several algorithms have an active key',
        ),
    }),
    tokens: z
      .strictObject({
        max_lifetime: duration('Upper bound of issued token lifetime').prefault(
          DEFAULTS.tokens.max_lifetime,
        ),
        on_unauthorized_scope: z
          .enum(['reject', 'drop'])
          .default(DEFAULTS.tokens.on_unauthorized_scope)
          .describe('Requested scope the client may not have: 400 invalid_scope, or removed'),
        scope_format: z
          .enum(['string', 'array'])
          .default(DEFAULTS.tokens.scope_format)
          .describe('Default shape of the scope claim'),
        clock_tolerance: duration('Clock skew allowed when verifying upstream tokens').prefault(
          DEFAULTS.tokens.clock_tolerance,
        ),
        min_lifetime: duration(
          'Lifetime an upstream token must have left; less is an error, never a token that expires at once',
        ).prefault(DEFAULTS.tokens.min_lifetime),
        client_id_claims: z
          .array(z.string().min(1))
          .min(1)
          .default([...DEFAULTS.tokens.client_id_claims])
          .describe(
            'Claims of the verified upstream token naming the client, first present wins (the request never does)',
          ),
        response_members: z
          .array(
            z
              .string()
              .min(1)
              .refine((name) => !RESPONSE_MEMBERS_SCOPEGATE_OWNS.has(name), {
                message: 'scopegate always sets or checks this member itself',
              }),
          )
          .default([...DEFAULTS.tokens.response_members])
          .describe(
            'Members of the upstream token response passed on besides access_token, token_type, expires_in, scope, refresh_token, id_token',
          ),
        authorization_claims: z
          .record(z.string().min(1), z.enum(['keep', 'drop']))
          .default({ ...DEFAULTS.tokens.authorization_claims })
          .transform((given) => ({ ...DEFAULTS.tokens.authorization_claims, ...given }))
          .describe(
            'Claims granting access other than scope: drop (not carried into issued tokens) or keep; merged over the default list',
          ),
        carry_claims: carryList
          .default([...DEFAULTS.tokens.carry_claims])
          .describe(
            'Upstream claims every access token keeps when present (an allowlist, replacing the default; a client’s token.carry replaces it): identity claims only when the issued scopes release them, never a claim scopegate sets or an authorization claim marked drop; custom claims go here',
          ),
        identity_claims: z
          .record(
            z.string().refine(
              (scope) => {
                const parsed = parseScopeParameter(scope);
                return parsed.ok && parsed.scopes.length === 1;
              },
              { message: 'expected one scope (no spaces)' },
            ),
            z.array(z.string().min(1)),
          )
          .default({ ...DEFAULTS.tokens.identity_claims })
          .describe(
            'More claims the ID token and userinfo carry, by issued scope (openid: every answer), besides the standard ones of OpenID Connect Core 5.4; never authorization or protocol claims',
          ),
        refresh_token_key: key32
          .optional()
          .describe(
            "AES-256-GCM key that wraps the upstream's refresh tokens (32 bytes, base64url); without it refresh tokens are withheld",
          ),
        refresh_token_key_file: secretFile('refresh_token_key'),
        upstream_token_key: key32
          .optional()
          .describe(
            "Secret (32 bytes, base64url) from which the key that encrypts the upstream's access token into tokens with openid is derived; with it scopegate serves the upstream's userinfo endpoint for its own tokens",
          ),
        upstream_token_key_file: secretFile('upstream_token_key'),
        revocation: revocationSettings
          .prefault({})
          .describe(
            'Revocation of scopegate access tokens: which tokens revocation refused are remembered, and where',
          ),
        dpop: dpopSettings
          .prefault({})
          .describe(
            'DPoP (RFC 9449) sender-constrained tokens: scopegate verifies the proofs and binds the tokens it issues (cnf.jkt)',
          ),
        replay: replaySettings
          .prefault({})
          .describe(
            'Replay protection for one-time values (the jti of DPoP proofs and client assertions): how many are remembered, and where',
          ),
      })
      .superRefine((tokens, ctx) => {
        oneSecretSource(tokens, 'refresh_token_key', ctx);
        oneSecretSource(tokens, 'upstream_token_key', ctx);
        if (tokens.min_lifetime >= tokens.max_lifetime) {
          ctx.addIssue({
            code: 'custom',
            path: ['min_lifetime'],
            message: 'min_lifetime must be shorter than max_lifetime',
          });
        }
        tokens.carry_claims.forEach((name, index) => {
          const refusal = carryVerdictRefusal(name, tokens.authorization_claims);
          if (refusal !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['carry_claims', index], message: refusal });
          }
        });
        for (const [scope, names] of Object.entries(tokens.identity_claims)) {
          names.forEach((name, index) => {
            const refusal = configuredClaimRefusal(name, tokens.authorization_claims);
            if (refusal !== undefined) {
              ctx.addIssue({
                code: 'custom',
                path: ['identity_claims', scope, index],
                message: refusal,
              });
            }
          });
        }
      })
      .prefault({}),
    profile: z
      .enum(SECURITY_PROFILES)
      .optional()
      .describe(
        'Security profile every client is held to (fapi2: the FAPI 2.0 Security Profile); clients[].profile holds one client to it',
      ),
    pushed_authorization: pushedAuthorization
      .prefault({})
      .describe(
        "scopegate's pushed authorization request endpoint and the codes it binds, for clients held to a profile",
      ),
    clients: z.array(clientRule).default([]).describe('Per-client overrides, first match wins'),
    token_exchange: tokenExchange.prefault({}),
    client_auth: clientAuthSettings
      .prefault({})
      .describe(
        'JWT client authentication (clients[].token_endpoint_auth_method private_key_jwt, client_secret_jwt): assertion lifetime, client JWKS fetching',
      ),
    scopes: z.array(scopePolicy).default([]).describe('Templates and their governance policies'),
    server: z
      .strictObject({
        body_limit: z
          .number()
          .int()
          .min(1024)
          .max(1_048_576)
          .default(DEFAULTS.server.body_limit)
          .describe('Largest token request body, in bytes'),
        request_timeout: duration('Whole-request timeout on the public listener').prefault(
          DEFAULTS.server.request_timeout,
        ),
        headers_timeout: duration('Time allowed to receive request headers').prefault(
          DEFAULTS.server.headers_timeout,
        ),
        keep_alive_timeout: duration('Idle keep-alive timeout').prefault(
          DEFAULTS.server.keep_alive_timeout,
        ),
        shutdown_grace: duration('Time in-flight requests get on SIGTERM').prefault(
          DEFAULTS.server.shutdown_grace,
        ),
        watch_config: z
          .boolean()
          .default(DEFAULTS.server.watch_config)
          .describe('Reload when the config file or one of its key or secret files changes'),
        trusted_proxies: z
          .array(
            z.string().refine((entry) => parseProxyEntry(entry) !== undefined, {
              message: 'expected an IPv4 or IPv6 address or CIDR block',
            }),
          )
          .default([...DEFAULTS.server.trusted_proxies])
          .describe(
            'IPv4/IPv6 addresses or CIDRs of proxies whose forwarding headers are believed (X-Forwarded-For extended); from other peers they are replaced',
          ),
        tls: serverTls.optional(),
        client_certificate_header: clientCertificateHeader.optional(),
        workers: z
          .union([z.literal('auto'), z.number().int().min(1).max(MAX_WORKERS)])
          .default(DEFAULTS.server.workers)
          .describe(
            'Processes serving the public listener: 1 (one process), a number, or auto (the CPUs the container may use: its cgroup CPU quota, at most the CPUs Node.js sees); read at start only',
          ),
      })
      .prefault({}),
    discovery: z
      .strictObject({
        keep_fields: z
          .array(
            z
              .string()
              // A plain member name: never `__proto__`, which would set the document's prototype.
              .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/, {
                message: 'expected a discovery field name (letters, digits, _ . : -)',
                abort: true,
              })
              .superRefine((name, ctx) => {
                const refusal = keepListRefusal(name);
                if (refusal !== undefined) ctx.addIssue({ code: 'custom', message: refusal });
              }),
          )
          .default([...DEFAULTS.discovery.keep_fields])
          .describe(
            "Vendor fields of the upstream's discovery document passed on by name (fields the discovery table does not list are left out); URLs on the upstream move onto scopegate, endpoints elsewhere are dropped",
          ),
      })
      .prefault({}),
    cache: z
      .strictObject({
        decision_max_entries: z
          .number()
          .int()
          .min(0)
          .default(DEFAULTS.cache.decision_max_entries)
          .describe('Scope decisions kept (0 disables the cache)'),
        decision_ttl: duration('How long a scope decision is kept').prefault(
          DEFAULTS.cache.decision_ttl,
        ),
        upstream_tokens: upstreamTokenCache
          .prefault({})
          .describe('Upstream token answers kept for clients whose rule sets cache: true'),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
          .default(DEFAULTS.log.level)
          .describe('Log level'),
        format: z
          .enum(['auto', 'json', 'pretty'])
          .default(DEFAULTS.log.format)
          .describe('auto: pretty in a terminal, JSON otherwise'),
        buffer_bytes: z
          .number()
          .int()
          .min(65_536)
          .max(268_435_456)
          .default(DEFAULTS.log.buffer_bytes)
          .describe('Log output allowed to wait for a slow reader; beyond it lines are dropped'),
        access: z
          .strictObject({
            sample_proxied: z
              .number()
              .min(0)
              .max(1)
              .default(DEFAULTS.log.access.sample_proxied)
              .describe(
                'Share of proxied requests answered below 400 that write an access line (0 to 1); every other request always writes one',
              ),
          })
          .prefault({})
          .describe('The access line every request on the public listener writes'),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        client_id_label: z
          .boolean()
          .default(DEFAULTS.metrics.client_id_label)
          .describe('Add client_id as a label on token metrics (unbounded: opt in knowingly)'),
      })
      .prefault({}),
    tracing: z
      .strictObject({
        enabled: z
          .boolean()
          .default(DEFAULTS.tracing.enabled)
          .describe(
            'Export OpenTelemetry traces (OTLP/HTTP); read at start, a reload keeps the running setting',
          ),
        service_name: z
          .string()
          .min(1)
          .optional()
          .describe(
            `service.name of the spans; default OTEL_SERVICE_NAME, then \`${DEFAULTS.tracing.service_name}\``,
          ),
        sample_ratio: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe(
            'Share of new traces recorded (0 to 1); a client that sends a traceparent decides for its trace. Default OTEL_TRACES_SAMPLER_ARG, then 1',
          ),
        exporter: z
          .strictObject({
            endpoint: httpUrl
              .optional()
              .describe(
                `OTLP/HTTP traces URL, used as given; default OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces, then ${DEFAULTS.tracing.endpoint}`,
              ),
            headers: z
              .record(z.string().min(1), z.string())
              .optional()
              .describe(
                'Headers sent with every export (an API key: use ${VAR} or headers_file); default OTEL_EXPORTER_OTLP_TRACES_HEADERS, then OTEL_EXPORTER_OTLP_HEADERS',
              ),
            headers_file: secretFile(
              'the export headers, as key=value,key2=value2 (percent-encoded)',
            ),
          })
          .superRefine((exporter, ctx) => oneSecretSource(exporter, 'headers', ctx))
          .prefault({})
          .describe('Where spans are sent'),
      })
      .prefault({})
      .describe(
        'OpenTelemetry tracing: W3C trace context in and out, spans per request, OTLP export',
      ),
  })
  .superRefine((config, ctx) => {
    checkSigningAlgorithms(config, ctx);
    config.clients.forEach((rule, index) => {
      checkTokenProfile(config, rule, index, ctx);
      checkSecurityProfile(rule, index, ctx);
      checkClientAuthentication(rule, index, ctx);
    });
    checkCertificateBinding(config, ctx);
    checkOneAuthenticationRule(config, ctx);
    const firstHeld = config.clients.findIndex((rule) => rule.profile !== undefined);
    if (config.profile !== undefined) checkProfileSigning(config, ['profile'], ctx);
    else if (firstHeld >= 0) checkProfileSigning(config, ['clients', firstHeld, 'profile'], ctx);
    checkProfileAuthentication(config, ctx);
    config.clients.forEach((rule, index) => {
      checkTlsClientAuthentication(config, rule, index, ctx);
    });
    const caching = config.clients.some((rule) => rule.cache === true);
    const upstreamTokens = config.cache.upstream_tokens;
    if (caching && upstreamTokens.key === undefined && upstreamTokens.key_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache', 'upstream_tokens', 'key'],
        message: 'a client rule sets cache: true, so a cache key (key or key_file) is required',
      });
    }
  })
  .describe('scopegate configuration');

type ParsedConfig = z.output<typeof configSchema>;
type RefinementContext = z.core.$RefinementCtx<ParsedConfig>;

/** The algorithms with an active key; signing.default_alg and every profile alg must be one. */
function activeAlgorithms(config: ParsedConfig): Set<string> {
  return new Set(
    config.signing.keys.filter((key) => key.status === 'active').map((key) => key.alg),
  );
}

function checkSigningAlgorithms(config: ParsedConfig, ctx: RefinementContext): void {
  const active = activeAlgorithms(config);
  const defaultAlg = config.signing.default_alg;
  if (defaultAlg === undefined && active.size > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['signing', 'default_alg'],
      message: `active keys of ${[...active].join(', ')}: name the one that signs by default`,
    });
  } else if (defaultAlg !== undefined && !active.has(defaultAlg)) {
    ctx.addIssue({
      code: 'custom',
      path: ['signing', 'default_alg'],
      message: `no active ${defaultAlg} key in signing.keys`,
    });
  }
}

/**
 * Certificate-bound clients (RFC 8705 §3) need a certificate to reach scopegate, and one binding:
 * a client whose every token is bound to its certificate cannot also be required to use DPoP.
 */
function checkCertificateBinding(config: ParsedConfig, ctx: RefinementContext): void {
  config.clients.forEach((rule, index) => {
    if (rule.tls_client_certificate_bound_access_tokens !== true) return;
    const at = ['clients', index, 'tls_client_certificate_bound_access_tokens'];
    if (!readsClientCertificates(config.server)) {
      ctx.addIssue({
        code: 'custom',
        path: at,
        message:
          'no client certificate can reach scopegate: ask for one in server.tls (client_ca_file or client_certificate) or take it from server.client_certificate_header',
      });
    }
    if (rule.dpop === 'required') {
      ctx.addIssue({
        code: 'custom',
        path: at,
        message:
          'one binding per client: dpop: required and certificate-bound tokens exclude each other',
      });
    }
  });
}

/** Whether a client certificate can reach scopegate at all: its own TLS, or an ingress header. */
export function readsClientCertificates(server: ParsedConfig['server']): boolean {
  return (
    clientCertificateMode(server.tls) !== 'off' || server.client_certificate_header !== undefined
  );
}

/** What a profile can only be checked against with the rest of the config in view. */
function checkTokenProfile(
  config: ParsedConfig,
  rule: ClientRule,
  index: number,
  ctx: RefinementContext,
): void {
  const profile = rule.token;
  if (profile === undefined) return;
  const at = (...path: (string | number)[]) => ['clients', index, 'token', ...path];
  if (profile.alg !== undefined && !activeAlgorithms(config).has(profile.alg)) {
    ctx.addIssue({
      code: 'custom',
      path: at('alg'),
      message: `no active ${profile.alg} key in signing.keys`,
    });
  }
  if (profile.lifetime !== undefined && profile.lifetime > config.tokens.max_lifetime) {
    ctx.addIssue({
      code: 'custom',
      path: at('lifetime'),
      message: 'longer than tokens.max_lifetime, which bounds every token',
    });
  }
  if (rule.scope_format !== undefined && profile.scope_claims !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['clients', index, 'scope_format'],
      message: 'set either scope_format or token.scope_claims, not both',
    });
  }
  const authorization = config.tokens.authorization_claims;
  profile.scope_claims?.forEach((claim, position) => {
    if (Object.hasOwn(authorization, claim.name)) {
      ctx.addIssue({
        code: 'custom',
        path: at('scope_claims', position, 'name'),
        message: 'an authorization claim (tokens.authorization_claims) cannot carry scopes',
      });
    }
  });
  for (const name of Object.keys(profile.claims ?? {})) {
    if (Object.hasOwn(authorization, name)) {
      ctx.addIssue({
        code: 'custom',
        path: at('claims', name),
        message: 'an authorization claim (tokens.authorization_claims) cannot be fixed',
      });
    }
  }
  profile.carry?.forEach((name, position) => {
    const refusal = carryVerdictRefusal(name, authorization);
    if (refusal !== undefined) {
      ctx.addIssue({ code: 'custom', path: at('carry', position), message: refusal });
    }
  });
}

/**
 * The algorithm that signs what a client without a profile alg receives (its access token, every
 * ID token): signing.default_alg, or the one algorithm with an active key.
 */
function defaultAlgorithm(config: ParsedConfig): string | undefined {
  return config.signing.default_alg ?? [...activeAlgorithms(config)][0];
}

/** A profile holds scopegate's own signatures to the algorithms it allows. */
function checkProfileSigning(
  config: ParsedConfig,
  path: (string | number)[],
  ctx: RefinementContext,
): void {
  const alg = defaultAlgorithm(config);
  if (alg !== undefined && !FAPI2_ALGORITHMS.has(alg)) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `fapi2 allows PS256, ES256 and EdDSA signatures only: ID tokens and access tokens are signed ${alg} (signing.default_alg)`,
    });
  }
  const proofAlgorithms = config.tokens.dpop.algorithms.filter((alg) => !FAPI2_ALGORITHMS.has(alg));
  if (proofAlgorithms.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokens', 'dpop', 'algorithms'],
      message: `fapi2 allows PS256, ES256 and EdDSA signatures only, and one list serves every client: remove ${proofAlgorithms.join(', ')}`,
    });
  }
  config.clients.forEach((rule, index) => {
    const profileAlg = rule.token?.alg;
    const held = config.profile !== undefined || rule.profile !== undefined;
    // DPoP off is fine for a certificate-bound client: its tokens are sender-constrained by mTLS.
    if (held && rule.dpop === 'off' && rule.tls_client_certificate_bound_access_tokens !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, 'dpop'],
        message:
          'fapi2 requires sender-constrained tokens: DPoP cannot be off for a client held to it',
      });
    }
    if (held && profileAlg !== undefined && !FAPI2_ALGORITHMS.has(profileAlg)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, 'token', 'alg'],
        message: `fapi2 allows PS256, ES256 and EdDSA signatures only, not ${profileAlg}`,
      });
    }
  });
}

/**
 * A client held to the profile authenticates with private_key_jwt or mutual TLS, verified by
 * scopegate (FAPI 2.0 §5.3.2.1): its rules must say so.
 */
function checkProfileAuthentication(config: ParsedConfig, ctx: RefinementContext): void {
  const held = new Set(
    config.clients
      .filter((rule) => config.profile !== undefined || rule.profile !== undefined)
      .map((rule) => rule.client_id),
  );
  for (const clientId of held) {
    const index = config.clients.findIndex(
      (rule) => rule.client_id === clientId && rule.token_endpoint_auth_method !== undefined,
    );
    const method = index >= 0 ? config.clients[index]?.token_endpoint_auth_method : undefined;
    // FAPI 2.0 §5.3.2.1: private_key_jwt or mutual TLS (RFC 8705 §2, either kind).
    if (method !== undefined && FAPI2_CLIENT_AUTH_METHODS.has(method)) continue;
    const at = index >= 0 ? index : config.clients.findIndex((rule) => rule.client_id === clientId);
    ctx.addIssue({
      code: 'custom',
      path: ['clients', at, 'token_endpoint_auth_method'],
      message: `fapi2 requires private_key_jwt or mutual TLS (tls_client_auth, self_signed_tls_client_auth) client authentication, verified by scopegate (found ${method ?? 'none set'})`,
    });
  }
}

/** clients[].profile and redirect_uris describe the client, whatever the audience. */
function checkSecurityProfile(rule: ClientRule, index: number, ctx: RefinementContext): void {
  for (const key of ['profile', 'redirect_uris'] as const) {
    if (rule[key] !== undefined && rule.audience !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, key],
        message: `${key} applies to the client, whatever the audience: set it on a rule without audience`,
      });
    }
  }
  rule.redirect_uris?.forEach((uri, position) => {
    if (uri.includes('#')) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, 'redirect_uris', position],
        message: 'a redirect URI has no fragment (RFC 6749 §3.1.2)',
      });
    }
  });
}

/**
 * Client authentication settings that cannot work, refused before anything is served: a method
 * without what verifying it needs, what it would ignore, and upstream credentials that would make
 * a client anyone could claim to be into one the upstream trusts.
 */
function checkClientAuthentication(rule: ClientRule, index: number, ctx: RefinementContext): void {
  const at = (...path: string[]) => ['clients', index, ...path];
  const problem = (path: string[], message: string) =>
    ctx.addIssue({ code: 'custom', path: at(...path), message });
  const method = rule.token_endpoint_auth_method;
  const hasSecret = rule.client_secret !== undefined || rule.client_secret_file !== undefined;
  const hasKeys = rule.jwks !== undefined || rule.jwks_uri !== undefined;
  if (rule.client_secret !== undefined && rule.client_secret_file !== undefined) {
    problem(['client_secret_file'], 'set client_secret or client_secret_file, not both');
  }
  if (method === undefined) {
    for (const name of [
      'jwks',
      'jwks_uri',
      'client_secret',
      'client_secret_file',
      'upstream_auth',
    ] as const) {
      if (rule[name] !== undefined) problem([name], 'needs token_endpoint_auth_method');
    }
    return;
  }
  if (rule.audience !== undefined) {
    problem(
      ['token_endpoint_auth_method'],
      'client authentication cannot depend on the audience asked for: set it on a rule without audience',
    );
  }
  if (method === 'private_key_jwt') {
    if (rule.jwks !== undefined && rule.jwks_uri !== undefined) {
      problem(['jwks_uri'], 'set jwks or jwks_uri, not both');
    } else if (!hasKeys) {
      problem(['jwks'], 'private_key_jwt needs the client’s public keys (jwks or jwks_uri)');
    }
  } else if (hasKeys && method !== 'self_signed_tls_client_auth') {
    problem([rule.jwks !== undefined ? 'jwks' : 'jwks_uri'], `not used by ${method}`);
  }
  if ((isJwtMethod(method) || isTlsMethod(method)) && rule.upstream_auth === undefined) {
    problem(
      ['upstream_auth'],
      `${method} is verified by scopegate, which then needs its own credentials for the upstream`,
    );
  }
  if (method === 'client_secret_jwt' && !hasSecret) {
    problem(
      ['client_secret'],
      'client_secret_jwt needs the client’s secret (or client_secret_file)',
    );
  }
  const secretMethod = method === 'client_secret_basic' || method === 'client_secret_post';
  if (secretMethod && rule.upstream_auth !== undefined && !hasSecret) {
    problem(
      ['client_secret'],
      `with upstream_auth scopegate checks the client’s ${method} secret itself: set client_secret or client_secret_file`,
    );
  }
  if (secretMethod && rule.upstream_auth === undefined && hasSecret) {
    problem(
      ['client_secret'],
      'without upstream_auth the upstream checks the secret as received: scopegate does not use it',
    );
  }
  if ((method === 'private_key_jwt' || method === 'none' || isTlsMethod(method)) && hasSecret) {
    problem(['client_secret'], `not used by ${method}`);
  }
  if (method === 'none' && rule.upstream_auth !== undefined) {
    problem(
      ['upstream_auth'],
      'a public client authenticates with nothing: upstream credentials would let anyone act as this client',
    );
  }
}

/**
 * Mutual TLS client authentication (RFC 8705 §2): `tls_client_auth` names the client by exactly
 * one registered name (§2.1.2) and needs a certificate scopegate can call chained (its own
 * listener's client_ca_file, or an ingress that says it verified); `self_signed_tls_client_auth`
 * needs the client's certificates in `jwks` (`x5c`, §2.2.2), inline: a jwks_uri's keys are
 * fetched for their keys alone.
 */
function checkTlsClientAuthentication(
  config: ParsedConfig,
  rule: ClientRule,
  index: number,
  ctx: RefinementContext,
): void {
  const method = rule.token_endpoint_auth_method;
  const problem = (name: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: ['clients', index, name], message });
  const names = TLS_CLIENT_AUTH_NAMES.filter((name) => rule[name] !== undefined);
  if (method !== 'tls_client_auth') {
    for (const name of names)
      problem(name, 'used by token_endpoint_auth_method: tls_client_auth only');
  }
  if (method === undefined || !isTlsMethod(method)) return;
  if (!readsClientCertificates(config.server)) {
    problem(
      'token_endpoint_auth_method',
      'no client certificate can reach scopegate: ask for one in server.tls or take it from server.client_certificate_header',
    );
  }
  if (method === 'tls_client_auth') {
    if (names.length !== 1) {
      problem(
        'token_endpoint_auth_method',
        `tls_client_auth needs exactly one of ${TLS_CLIENT_AUTH_NAMES.join(', ')}`,
      );
    }
    const header = config.server.client_certificate_header;
    const chains =
      config.server.tls?.client_ca_file !== undefined ||
      (header !== undefined && header.verified !== 'none');
    if (!chains) {
      problem(
        'token_endpoint_auth_method',
        'tls_client_auth needs certificates verified against client CAs: server.tls.client_ca_file, or server.client_certificate_header.verified always or header',
      );
    }
    return;
  }
  if (rule.jwks_uri !== undefined) {
    problem('jwks_uri', 'self_signed_tls_client_auth takes its certificates from jwks (x5c)');
  }
  if (rule.jwks === undefined) {
    if (rule.jwks_uri === undefined) {
      problem('jwks', 'self_signed_tls_client_auth needs the client’s certificates in jwks (x5c)');
    }
    return;
  }
  rule.jwks.keys.forEach((jwk, position) => {
    const read = jwkCertificate(jwk);
    if (!read.ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, 'jwks', 'keys', position, 'x5c'],
        message: read.reason,
      });
    }
  });
}

/** One rule per client says how it authenticates: two could disagree. */
function checkOneAuthenticationRule(config: ParsedConfig, ctx: RefinementContext): void {
  const seen = new Set<string>();
  config.clients.forEach((rule, index) => {
    if (rule.token_endpoint_auth_method === undefined) return;
    if (seen.has(rule.client_id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', index, 'token_endpoint_auth_method'],
        message: `another rule of client "${rule.client_id}" already says how it authenticates`,
      });
    }
    seen.add(rule.client_id);
  });
}

type ClientRule = z.output<typeof clientRule>;

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type SigningKeyConfig = Config['signing']['keys'][number];
export type ScopePolicyConfig = Config['scopes'][number];
export type ClientRuleConfig = Config['clients'][number];
export type UpstreamQuotaConfig = NonNullable<Config['upstream']['quota']>;
export type ClientQuotaConfig = NonNullable<ClientRuleConfig['upstream_quota']>;
export type IntrospectionConfig = NonNullable<Config['upstream']['introspection']>;
export type TokenExchangeConfig = Config['token_exchange'];
export type UpstreamAuthConfig = NonNullable<ClientRuleConfig['upstream_auth']>;
export type ClientAuthSettings = Config['client_auth'];
