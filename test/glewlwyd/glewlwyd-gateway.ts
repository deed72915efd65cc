/**
 * scopegate in front of the real glewlwyd, configured as a deployment would be: `upstream.url`
 * is glewlwyd's origin (its login API at /api/auth/ lives beside the OIDC plugin, not below it),
 * `upstream.discovery_path` points at the plugin's document below /api/oidc, and no
 * `token_path` is configured, so the intercepted path is the one glewlwyd's discovery names.
 * The issuer is scopegate's own listening URL (optionally with a path), so clients can find
 * everything by discovery.
 */
import type { GlewlwydIdp } from '../fixtures/glewlwyd/identity-provider.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import type { TestGatewayOptions } from '../support/gateway.js';

export interface GlewlwydGatewayOptions {
  scopeRequest?: TestGatewayOptions['scopeRequest'];
  /** Merged into `upstream` (e.g. default_scope, token_format). */
  upstream?: Record<string, unknown>;
  /** Other top-level keys (tokens, clients, ...). */
  config?: Record<string, unknown>;
  issuerPath?: string;
}

export function startGlewlwydGateway(
  idp: GlewlwydIdp,
  options: GlewlwydGatewayOptions = {},
): Promise<SelfIssuedGateway> {
  return startSelfIssuedGateway(
    {
      upstreamUrl: idp.url,
      keys: [{ kid: 'gw-es', alg: 'ES256', status: 'active' }],
      config: {
        ...options.config,
        upstream: {
          url: idp.url,
          discovery_path: idp.discoveryPath,
          // Left to discovery: the harness would otherwise set /oauth/token.
          token_path: undefined,
          scope_request: options.scopeRequest ?? 'forward',
          timeout: '5s',
          ...options.upstream,
        },
      },
    },
    options.issuerPath ?? '',
  );
}
