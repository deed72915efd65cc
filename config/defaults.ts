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
  },
  tokens: {
    max_lifetime: '1h',
    on_unauthorized_scope: 'reject',
    scope_format: 'string',
    clock_tolerance: '30s',
  },
  server: {
    body_limit: 65536,
    request_timeout: '30s',
    headers_timeout: '10s',
    keep_alive_timeout: '5s',
    shutdown_grace: '20s',
    watch_config: true,
    trusted_proxies: [] as string[],
  },
  cache: {
    decision_max_entries: 10000,
    decision_ttl: '5m',
  },
  log: {
    level: 'info',
    format: 'auto',
    buffer_bytes: 4_194_304,
  },
  metrics: {
    client_id_label: false,
  },
} as const;
