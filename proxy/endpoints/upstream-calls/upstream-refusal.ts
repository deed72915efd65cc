/**
 * The answer a client gets when the upstream's revocation or introspection endpoint refuses a
 * request scopegate made on its behalf. Built from a table, never from the upstream's words: on
 * these calls scopegate sends the upstream a token the client must never see (the upstream's
 * refresh or access token it unwrapped), and an upstream may quote the token it was given in its
 * description ("token rt-02f8... cannot be revoked by this client"), in `error_uri` or in a
 * `WWW-Authenticate` challenge. Only the error code is read, and only from a known set; the
 * description is scopegate's fixed sentence for it; no upstream header travels.
 */
import {
  badUpstream,
  ClientAuthenticationFailed,
  OAuthError,
  type OAuthErrorCode,
} from '../../http/oauth-error.js';
import type { UpstreamResponse } from '../../upstream/http-client.js';
import { upstreamJson } from './upstream-call.js';

export type RefusingEndpoint = 'revocation' | 'introspection';

interface Refusal {
  status: number;
  description: string;
}

/**
 * Every upstream error code a client may see from these endpoints (RFC 6749 §5.2, RFC 7009
 * §2.2.1), with scopegate's words. invalid_client is answered by ClientAuthenticationFailed.
 */
export const REFUSALS: Readonly<Partial<Record<OAuthErrorCode, Refusal>>> = {
  invalid_request: { status: 400, description: 'the upstream refused the request as invalid' },
  unauthorized_client: {
    status: 400,
    description: 'the client is not allowed to use this endpoint',
  },
  unsupported_token_type: {
    status: 400,
    description: 'the upstream cannot handle this kind of token',
  },
};

function isKnownCode(code: unknown): code is OAuthErrorCode {
  return typeof code === 'string' && Object.hasOwn(REFUSALS, code);
}

/**
 * The client's error for an upstream answer other than 200. `basic`: the caller authenticated
 * with HTTP Basic, so a 401 carries the challenge RFC 6749 §5.2 asks for.
 */
export function upstreamRefusal(
  answer: UpstreamResponse,
  endpoint: RefusingEndpoint,
  basic: boolean,
): OAuthError {
  if (answer.status === 429 || answer.status === 503) {
    return new OAuthError(
      'temporarily_unavailable',
      `the upstream ${endpoint} endpoint is busy`,
      503,
    );
  }
  if (answer.status < 400 || answer.status > 499) {
    return badUpstream(`the upstream ${endpoint} endpoint answered ${answer.status}`);
  }
  const code = upstreamJson(answer)?.error;
  if (code === 'invalid_client' || answer.status === 401) {
    return new ClientAuthenticationFailed(basic);
  }
  if (!isKnownCode(code)) {
    return new OAuthError(
      'invalid_request',
      `the upstream ${endpoint} endpoint refused the request`,
      400,
      'upstream_error',
    );
  }
  const refusal = REFUSALS[code] as Refusal;
  return new OAuthError(code, refusal.description, refusal.status, 'upstream_error');
}
