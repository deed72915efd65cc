/**
 * The configuration schema: the single source of validation, defaults and the shipped JSON Schema
 * (config/scopegate.schema.json is generated from it). Unknown keys are errors everywhere.
 */
import * as z from 'zod';
import { parseProxyEntry } from '../proxy/http/trusted-proxies.js';
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

const signingKey = z
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

const clientRule = z.strictObject({
  client_id: z.string().min(1).describe('Client id the rule applies to'),
  audience: z.string().min(1).optional().describe('Only for this audience'),
  scope_format: z
    .enum(['string', 'array'])
    .optional()
    .describe('Shape of the scope claim for this client'),
  upstream_scope: scopeParameter(
    'Scope asked of the upstream for this client when it asks for none or the mode is omit (default: upstream.default_scope)',
  ).optional(),
});

export const configSchema = z
  .strictObject({
    listen: listenAddress
      .default(DEFAULTS.listen)
      .describe('Public listener: proxy, token endpoint, JWKS, discovery'),
    admin_listen: listenAddress.optional().describe('Admin listener: /metrics, /healthz, /readyz'),
    issuer: httpUrl.describe('iss of issued tokens; discovery and JWKS describe it'),
    upstream: z.strictObject({
      url: httpUrl.describe('Base URL of the upstream IdP; everything is proxied here'),
      token_path: z
        .string()
        .startsWith('/')
        .default(DEFAULTS.upstream.token_path)
        .describe('The intercepted token endpoint path'),
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
        .array(z.string().startsWith('/'))
        .default([...DEFAULTS.upstream.blocked_paths])
        .describe(
          'Upstream paths never proxied (404), with everything below them: other endpoints that issue tokens',
        ),
    }),
    signing: z.strictObject({
      keys: z
        .array(signingKey)
        .min(1)
        .describe('Signing keys; exactly one active')
        .superRefine((keys, ctx) => {
          const active = keys.filter((key) => key.status === 'active').length;
          if (active !== 1) {
            ctx.addIssue({
              code: 'custom',
              message: `exactly one key must have status active (found ${active})`,
            });
          }
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
        refresh_token_key: z
          .string()
          .regex(/^[A-Za-z0-9_-]{43}$/, {
            message:
              'expected 32 random bytes, base64url (e.g. `openssl rand 32 | basenc --base64url`)',
          })
          .optional()
          .describe(
            "AES-256-GCM key that wraps the upstream's refresh tokens (32 bytes, base64url); without it refresh tokens are withheld",
          ),
      })
      .superRefine((tokens, ctx) => {
        if (tokens.min_lifetime >= tokens.max_lifetime) {
          ctx.addIssue({
            code: 'custom',
            path: ['min_lifetime'],
            message: 'min_lifetime must be shorter than max_lifetime',
          });
        }
      })
      .prefault({}),
    clients: z.array(clientRule).default([]).describe('Per-client overrides, first match wins'),
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
          .describe('Reload when the config file or one of its key files changes'),
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
  })
  .describe('scopegate configuration');

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type SigningKeyConfig = Config['signing']['keys'][number];
export type ScopePolicyConfig = Config['scopes'][number];
export type ClientRuleConfig = Config['clients'][number];
