/**
 * The incoming token request, parsed and checked before anything reaches the upstream.
 */
import type { IncomingMessage } from 'node:http';
import {
  bodyKind,
  parseTokenRequestBody,
  readBody,
  type TokenRequestBody,
} from '../../http/body.js';
import { invalidRequest, invalidScope } from '../../http/oauth-error.js';
import { parseUntrustedObject } from '../../http/untrusted-json.js';
import { parseScopeParameter } from '../../scope/grammar.js';
import type { AuthenticatedClient } from './client-auth/authenticated-client.js';

/**
 * More scopes than any client asks for in one request: a longer list is refused before it is
 * split, decided or forwarded.
 */
export const MAX_REQUESTED_SCOPES = 1024;

export interface TokenRequest {
  body: TokenRequestBody;
  grantType: string | undefined;
  /** Scopes asked for; undefined when the request has no scope parameter. */
  requestedScopes: string[] | undefined;
  /** `audience` (Auth0 style) and `resource` (RFC 8707) values. */
  audiences: string[];
  /**
   * The client id the request names (body, Basic auth or a client assertion), for logs only:
   * policies read the client from the verified upstream token.
   */
  clientIdHint: string | undefined;
  /**
   * The client scopegate authenticated itself (clients[].token_endpoint_auth_method), set by the
   * client authentication step (client-auth-step.ts); undefined for a client the upstream
   * authenticates.
   */
  client?: AuthenticatedClient;
}

/** The unverified `sub` of a JWT client assertion (RFC 7523 §3): the client it claims to be. */
function assertionClientId(assertion: string | undefined): string | undefined {
  if (assertion === undefined) return undefined;
  const payload = assertion.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const sub = parseUntrustedObject(Buffer.from(payload, 'base64url').toString('utf8'))?.sub;
    return typeof sub === 'string' && sub !== '' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one client the request names. Two different names (body client_id, Basic auth, a client
 * assertion's sub) are refused: which one the upstream authenticates is its choice, and logs or
 * policies must never read the other.
 */
export function namedClient(
  params: Map<string, string>,
  authorization: string | undefined,
): string | undefined {
  const names = [
    params.get('client_id'),
    basicCredentials(authorization)?.clientId,
    assertionClientId(params.get('client_assertion')),
  ].filter((name): name is string => name !== undefined);
  const distinct = new Set(names);
  if (distinct.size > 1) {
    throw invalidRequest('the request names more than one client (body, Basic auth, assertion)');
  }
  return names[0];
}

/** Client id and secret from an HTTP Basic `Authorization` header (RFC 6749 §2.3.1). */
export function basicCredentials(
  header: string | undefined,
): { clientId: string; secret: string } | undefined {
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  // Each part is form-urlencoded before Basic encoding.
  const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

/** The scopes the request asks for (undefined: no scope parameter); throws invalid_scope. */
export function requestedScopesOf(params: ReadonlyMap<string, string>): string[] | undefined {
  const scope = params.get('scope');
  if (scope === undefined) return undefined;
  const parsed = parseScopeParameter(scope, MAX_REQUESTED_SCOPES);
  if (!parsed.ok) throw invalidScope(parsed.reason);
  return parsed.scopes;
}

export async function readTokenRequest(
  req: IncomingMessage,
  bodyLimit: number,
): Promise<TokenRequest> {
  const kind = bodyKind(req.headers['content-type']);
  if (!kind) {
    throw invalidRequest(
      'token requests must be application/x-www-form-urlencoded or application/json',
    );
  }
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    // A compressed body would be parsed as garbage parameters (and a missing scope means "all").
    throw invalidRequest('token requests must not be content-encoded');
  }
  const body = parseTokenRequestBody(await readBody(req, bodyLimit), kind);
  const params = body.params;
  const requestedScopes = requestedScopesOf(params);
  const audience = params.get('audience');
  return {
    body,
    grantType: params.get('grant_type'),
    requestedScopes,
    audiences: [...(audience !== undefined ? [audience] : []), ...body.resources],
    clientIdHint: namedClient(params, req.headers.authorization),
  };
}
