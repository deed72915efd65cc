/**
 * scopegate's answer to a CORS preflight on the token endpoint (and the userinfo endpoint it serves). The preflight never reaches the
 * upstream (nothing sent to the upstream token endpoint bypasses scopegate, bodies included). It
 * only lets the browser send the POST: whether the browser may read the answer is still decided
 * by the CORS headers of the upstream's answer to that POST.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const TOKEN_METHODS = 'POST, OPTIONS';

/** A header list as browsers send it: tokens separated by commas, nothing else echoed back. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;
/** A serialised origin (scheme://host[:port]) or "null". */
const ORIGIN = /^(?:null|[a-z][a-z0-9+.-]*:\/\/[A-Za-z0-9.\-[\]:]+)$/;

/** `allow` lists OPTIONS and the methods the browser may then send (userinfo: GET and POST). */
export function answerTokenPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  allow = TOKEN_METHODS,
): void {
  req.resume();
  const headers: Record<string, string> = {
    allow,
    'access-control-allow-methods': allow
      .split(', ')
      .filter((method) => method !== 'OPTIONS')
      .join(', '),
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Headers',
    'content-length': '0',
  };
  const origin = req.headers.origin;
  if (typeof origin === 'string' && ORIGIN.test(origin)) {
    headers['access-control-allow-origin'] = origin;
  }
  const requested = req.headers['access-control-request-headers'];
  if (typeof requested === 'string' && HEADER_LIST.test(requested.trim())) {
    headers['access-control-allow-headers'] = requested.trim();
  }
  res.writeHead(204, headers);
  res.end();
}
