/**
 * The incoming token request, parsed and checked before anything reaches the upstream.
 */
import type { IncomingMessage } from 'node:http';
import { bodyKind, parseTokenRequestBody, readBody, type TokenRequestBody } from '../http/body.js';
import { invalidRequest, invalidScope } from '../http/oauth-error.js';
import { parseScopeParameter } from '../scope/grammar.js';

export interface TokenRequest {
  body: TokenRequestBody;
  grantType: string | undefined;
  /** Scopes asked for; undefined when the request has no scope parameter. */
  requestedScopes: string[] | undefined;
  /** `audience` (Auth0 style) and `resource` (RFC 8707) values. */
  audiences: string[];
  /** The client id the request names (body or Basic auth); the upstream authenticates it. */
  clientIdHint: string | undefined;
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
  let requestedScopes: string[] | undefined;
  const scope = params.get('scope');
  if (scope !== undefined) {
    const parsed = parseScopeParameter(scope);
    if (!parsed.ok) throw invalidScope(parsed.reason);
    requestedScopes = parsed.scopes;
  }
  const audience = params.get('audience');
  return {
    body,
    grantType: params.get('grant_type'),
    requestedScopes,
    audiences: [...(audience !== undefined ? [audience] : []), ...body.resources],
    clientIdHint: params.get('client_id') ?? basicCredentials(req.headers.authorization)?.clientId,
  };
}
