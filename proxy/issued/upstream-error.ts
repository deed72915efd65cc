/**
 * The upstream's error answer, rebuilt: never passed through. From the body only `error`,
 * `error_description` and `error_uri` are read; the status and a few safe headers are kept.
 * A code outside the registered ones becomes the standard code for its status, the original
 * kept in the description; a body that cannot be read (unknown coding, not JSON, no `error`)
 * becomes scopegate's own error with the upstream's status.
 */
import {
  isOAuthErrorCode,
  OAuthError,
  type OAuthErrorCode,
  safeDescription,
} from '../http/oauth-error.js';
import { parseUntrustedJson } from '../http/untrusted-json.js';
import type { UpstreamResponse } from '../upstream/http-client.js';
import { decodedUpstreamBody, UnreadableUpstreamBody } from '../upstream/upstream-body.js';
import { safeErrorHeaders } from './upstream-headers.js';

/** RFC 6749 §5.2 error_uri: %x21 / %x23-5B / %x5D-7E, and an absolute http(s) URL. */
const ERROR_URI_CHARSET = /^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/;

/** The standard code for an upstream status when its own code is missing or not standard. */
export function codeForStatus(status: number): OAuthErrorCode {
  if (status === 401) return 'invalid_client';
  if (status === 429 || status === 503) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}

function safeErrorUri(value: unknown): string | undefined {
  if (typeof value !== 'string' || !ERROR_URI_CHARSET.test(value) || value.includes('eyJ')) {
    return undefined;
  }
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** An `error` value shown to the client inside a description: the charset, and short. */
function quotedCode(code: string): string {
  return safeDescription(code).slice(0, 64);
}

interface ReadError {
  code: OAuthErrorCode;
  description: string;
  errorUri: string | undefined;
}

function readError(upstream: UpstreamResponse): ReadError {
  const fallback = codeForStatus(upstream.status);
  let text: string;
  try {
    text = decodedUpstreamBody(upstream.headers, upstream.body);
  } catch (error) {
    const why = error instanceof UnreadableUpstreamBody ? error.message : 'unreadable';
    return {
      code: fallback,
      description: `the upstream answered ${upstream.status} with a body scopegate cannot read (${why})`,
      errorUri: undefined,
    };
  }
  if (text.trim() === '') {
    return {
      code: fallback,
      description: `the upstream answered ${upstream.status} without an error body`,
      errorUri: undefined,
    };
  }
  let body: unknown;
  try {
    body = parseUntrustedJson(text);
  } catch {
    body = undefined;
  }
  const members =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = members.error;
  if (typeof code !== 'string' || code === '') {
    return {
      code: fallback,
      description: `the upstream answered ${upstream.status} with a body that is not an OAuth error`,
      errorUri: undefined,
    };
  }
  const described = typeof members.error_description === 'string' ? members.error_description : '';
  const errorUri = safeErrorUri(members.error_uri);
  if (isOAuthErrorCode(code) && !SCOPEGATE_ONLY_CODES.has(code)) {
    const description = described === '' ? `the upstream answered ${upstream.status}` : described;
    return { code, description, errorUri };
  }
  const original = `upstream error code ${quotedCode(code)}`;
  return {
    code: fallback,
    description: described === '' ? original : `${described} (${original})`,
    errorUri,
  };
}

/**
 * RFC 9449 codes are scopegate's alone at its token endpoint: the upstream never sees a DPoP
 * proof, so its `invalid_dpop_proof` or `use_dpop_nonce` is about nothing the client sent, and
 * relayed it would send the client retrying with fresh proofs and nonces scopegate never asked
 * for. They become the standard code for the status, named in the description.
 */
const SCOPEGATE_ONLY_CODES: ReadonlySet<string> = new Set(['invalid_dpop_proof', 'use_dpop_nonce']);

/** The shortest piece of a token that counts as quoting it. */
const QUOTE_WINDOW = 12;

/**
 * Whether `text` holds `secret` or any run of QUOTE_WINDOW of its characters (an upstream that
 * quotes the token it was given, whole or cut: "token rt-02f8a1c9... cannot be revoked").
 * Linear: the secret's windows in a set, then one pass over the text.
 */
export function quotesSecret(text: string, secret: string): boolean {
  if (secret === '') return false;
  const window = Math.min(QUOTE_WINDOW, secret.length);
  if (text.length < window) return false;
  const pieces = new Set<string>();
  for (let at = 0; at + window <= secret.length; at++) pieces.add(secret.slice(at, at + window));
  for (let at = 0; at + window <= text.length; at++) {
    if (pieces.has(text.slice(at, at + window))) return true;
  }
  return false;
}

/**
 * The OAuth error the client gets for an upstream 4xx/5xx answer. `sent`: a token scopegate put
 * in the request in the client's stead (the upstream's refresh token it unwrapped), which the
 * client must never see: then nothing the upstream wrote travels but its error code (from the
 * known set) and the headers that do not quote the token; the description is scopegate's.
 */
export function rebuiltUpstreamError(upstream: UpstreamResponse, sent?: string): OAuthError {
  const { code, description, errorUri } = readError(upstream);
  if (sent === undefined) {
    const error = new OAuthError(code, description, upstream.status, 'upstream_error');
    error.errorUri = errorUri;
    error.headers = safeErrorHeaders(upstream.headers);
    return error;
  }
  const error = new OAuthError(
    code,
    `the upstream refused the request (${upstream.status} ${code})`,
    upstream.status,
    'upstream_error',
  );
  error.headers = Object.fromEntries(
    Object.entries(safeErrorHeaders(upstream.headers)).filter(
      ([, value]) => !quotesSecret(value, sent),
    ),
  );
  return error;
}
