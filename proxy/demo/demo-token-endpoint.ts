/**
 * The demo upstream's token endpoint, as Auth0 answers a client-credentials request: with EVERY
 * scope granted to the client for the audience, whatever subset was asked for (design.md,
 * seeds/000_*). That is the behaviour scopegate exists to fix.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  extractCredentials,
  firstHeader,
  type ParsedParams,
  parseTokenParams,
  readBody,
  secretsEqual,
  sendJson,
  splitScope,
} from './demo-request.js';

export interface DemoClient {
  clientId: string;
  clientSecret: string;
  /** audience -> scopes granted to this client for that API */
  grants: Record<string, string[]>;
}

/** A token request as read, before it is answered. */
export interface SeenTokenRequest {
  contentType: string | undefined;
  parsed: ParsedParams;
  headers: IncomingMessage['headers'];
}

export interface DemoTokenEndpoint {
  clients: ReadonlyMap<string, DemoClient>;
  defaultAudience: string | undefined;
  lifetimeSeconds: number;
  /** Sees the request once read; the answer waits for it. */
  onTokenRequest?: (seen: SeenTokenRequest) => void | Promise<void>;
  /** Signs the token for these claims. */
  issue(claims: Record<string, unknown>): Promise<string>;
  /** The upstream's issuer, for `iss`. */
  issuer(): string;
  /** true once the upstream is closing: nothing more is written. */
  closing(): boolean;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function sendOAuthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
): void {
  // Error responses from a token endpoint must not be cached either (RFC 6749 §5.2 by analogy).
  sendJson(res, status, { error, error_description: description }, NO_STORE);
}

export async function handleDemoToken(
  endpoint: DemoTokenEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    sendOAuthError(res, 405, 'invalid_request', 'Method not allowed');
    return;
  }
  const contentType = firstHeader(req.headers['content-type']);
  const parsed = parseTokenParams(contentType, await readBody(req));
  await endpoint.onTokenRequest?.({ contentType, parsed, headers: req.headers });
  if (endpoint.closing() || res.destroyed) return;

  if (!parsed.ok) {
    sendOAuthError(res, 400, 'invalid_request', parsed.reason);
    return;
  }
  const params = parsed.params;
  const grantType = params.grant_type;
  if (!grantType) {
    sendOAuthError(res, 400, 'invalid_request', 'Missing required parameter: grant_type');
    return;
  }
  if (grantType !== 'client_credentials') {
    sendOAuthError(res, 400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);
    return;
  }

  const credentials = extractCredentials(req, params);
  if (!credentials.ok) {
    sendOAuthError(res, credentials.status, credentials.error, credentials.description);
    return;
  }
  const client = endpoint.clients.get(credentials.clientId);
  if (!client || !secretsEqual(client.clientSecret, credentials.clientSecret)) {
    sendOAuthError(res, 401, 'access_denied', 'Unauthorized');
    return;
  }

  const audience = params.audience || endpoint.defaultAudience;
  if (!audience) {
    sendOAuthError(
      res,
      403,
      'access_denied',
      'No audience parameter was provided, and no default audience has been configured',
    );
    return;
  }
  const granted = Object.hasOwn(client.grants, audience) ? client.grants[audience] : undefined;
  if (!granted) {
    sendOAuthError(
      res,
      403,
      'access_denied',
      `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    );
    return;
  }

  const grantedSet = new Set(granted);
  const notGranted = splitScope(params.scope).filter((s) => !grantedSet.has(s));
  if (notGranted.length > 0) {
    sendOAuthError(
      res,
      403,
      'access_denied',
      `Client has not been granted scopes: ${[...new Set(notGranted)].join(' ')}`,
    );
    return;
  }

  // The seed's point: whatever subset was requested, the token carries everything granted.
  const scopes = [...grantedSet];
  const now = Math.floor(Date.now() / 1000);
  const accessToken = await endpoint.issue({
    iss: endpoint.issuer(),
    sub: `${client.clientId}@clients`,
    aud: audience,
    iat: now,
    exp: now + endpoint.lifetimeSeconds,
    azp: client.clientId,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    gty: 'client-credentials',
    // Auth0 adds this when RBAC "Add Permissions in the Access Token" is on.
    permissions: scopes,
  });
  if (endpoint.closing() || res.destroyed) return;
  sendJson(
    res,
    200,
    {
      access_token: accessToken,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      expires_in: endpoint.lifetimeSeconds,
      token_type: 'Bearer',
    },
    NO_STORE,
  );
}
