/**
 * Every default of the configuration, in one place. The schema (config/schema.ts) applies these,
 * the JSON Schema shows them, and the README's configuration reference is checked against them.
 */
export const DEFAULTS = {
  listen: '127.0.0.1:8080',
  upstream: {
    discovery_path: '/.well-known/openid-configuration',
    scope_request: 'forward',
    timeout: '5s',
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    jwks_max_age: '10m',
    jwks_cooldown: '30s',
    jwks_stale_if_error: '1h',
    discovery_max_age: '5m',
    blocked_paths: [] as string[],
    token_format: 'jwt',
    max_connections: 256,
    tls: { ca_mode: 'add' },
    quota: {
      burst: 0,
      store: 'memory',
      on_upstream_429: 'all',
      max_pause: '5m',
      breaker: { failures: 5, open_for: '30s' },
      redis: { key_prefix: 'scopegate:quota:', timeout: '100ms' },
    },
    introspection: {
      auth_method: 'client_secret_basic',
      jwt_response: 'prefer',
      cache_max_age: '30s',
    },
  },
  tokens: {
    max_lifetime: '1h',
    on_unauthorized_scope: 'reject',
    scope_format: 'string',
    clock_tolerance: '30s',
    min_lifetime: '10s',
    client_id_claims: ['client_id', 'azp', 'cid', 'appid'],
    response_members: [] as string[],
    authorization_claims: {
      // Keycloak
      realm_access: 'drop',
      resource_access: 'drop',
      authorization: 'drop',
      // Common role and group claims (Okta, Azure AD / Entra ID, Cognito, Zitadel, ...)
      roles: 'drop',
      groups: 'drop',
      wids: 'drop',
      entitlements: 'drop',
      'cognito:groups': 'drop',
      'urn:zitadel:iam:org:project:roles': 'drop',
      // RFC 9396 rich authorization requests
      authorization_details: 'drop',
    } as Record<string, 'keep' | 'drop'>,
    identity_claims: {} as Record<string, string[]>,
    // Protocol claims resource servers expect in an access token and that grant nothing: who the
    // token was issued to (azp), how (Auth0's gty), and how the user authenticated (RFC 9068
    // §2.2.1: auth_time, acr, amr; sid for back-channel logout). Anything else of the upstream's,
    // custom claims included, is carried only when listed (proxy/rules/carried-claims.ts).
    carry_claims: ['azp', 'gty', 'auth_time', 'acr', 'amr', 'sid'] as string[],
    revocation: {
      store: 'memory',
      max_entries: 100000,
      redis: { key_prefix: 'scopegate:revoked:', timeout: '250ms' },
    },
    replay: {
      store: 'memory',
      max_entries: 200000,
      redis: { key_prefix: 'scopegate:seen:', timeout: '250ms' },
    },
    // RFC 9449 proofs: asymmetric algorithms only (never none or HS*); a proof's iat at most
    // max_age old and at most clock_skew in the future (and max_age + clock_skew in the past).
    dpop: {
      algorithms: ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'RS256'],
      max_age: '60s',
      clock_skew: '5s',
      nonce: { lifetime: '5m' },
    },
  },
  client: {
    dpop: 'allowed',
    tls_client_certificate_bound_access_tokens: false,
  },
  pushed_authorization: {
    request_uri_lifetime: '60s',
    login_timeout: '10m',
    code_lifetime: '60s',
    store: 'memory',
    max_entries: 100000,
    redis: { key_prefix: 'scopegate:par:', timeout: '250ms' },
  },
  token_profile: {
    typ: 'at+jwt',
  },
  client_auth: {
    assertion_max_lifetime: '5m',
    jwks_uri: {
      timeout: '5s',
      max_age: '10m',
      cooldown: '30s',
    },
  },
  token_exchange: {
    enabled: true,
    client_auth: 'optional',
    accept_upstream_tokens: true,
  },
  server: {
    body_limit: 65536,
    request_timeout: '30s',
    headers_timeout: '10s',
    keep_alive_timeout: '5s',
    shutdown_grace: '20s',
    watch_config: true,
    trusted_proxies: [] as string[],
    tls: { min_version: 'TLSv1.2' },
    client_certificate_header: { verified: 'none', verified_header: 'ssl-client-verify' },
    // One process, as before workers existed: more is an operator's choice (a CPU quota).
    workers: 1 as number | 'auto',
  },
  discovery: {
    keep_fields: [] as string[],
  },
  cache: {
    decision_max_entries: 10000,
    decision_ttl: '5m',
    upstream_tokens: {
      backend: 'memory',
      max_ttl: '10m',
      expiry_margin: '30s',
      max_entries: 10000,
      redis: { key_prefix: 'scopegate:token:', timeout: '250ms' },
    },
  },
  log: {
    level: 'info',
    format: 'auto',
    buffer_bytes: 4_194_304,
    access: { sample_proxied: 1 },
  },
  metrics: {
    client_id_label: false,
  },
  tracing: {
    enabled: false,
    // Used only when neither tracing.service_name nor OTEL_SERVICE_NAME says.
    service_name: 'scopegate',
    // Used only when neither tracing.sample_ratio nor OTEL_TRACES_SAMPLER_ARG says.
    sample_ratio: 1,
    // OTLP/HTTP's default traces endpoint, used when neither the config nor OTEL_* names one.
    endpoint: 'http://localhost:4318/v1/traces',
  },
} as const;
