/**
 * Bodies of proxied requests that could carry authorization parameters (form and JSON): read in
 * full, under the body limit, so they can be checked before the upstream sees them, and then
 * forwarded byte for byte. Anything else streams through unread.
 */
import type { IncomingMessage } from 'node:http';
import { bodyKind, readBody } from './body.js';
import { parseFormPairs } from './form-urlencoded.js';
import { frontChannelRefusal } from './front-channel.js';
import { invalidRequest, OAuthError } from './oauth-error.js';
import { parseUntrustedObject, UntrustedJsonRefused } from './untrusted-json.js';

/** Whether the request has a body whose parameters an upstream would read. */
export function hasInspectableBody(req: IncomingMessage): boolean {
  const framed =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  return framed && bodyKind(req.headers['content-type']) !== undefined;
}

/** The body's parameters (top-level members of a JSON object), or why it cannot be checked. */
export function bodyParams(
  req: IncomingMessage,
  body: Buffer,
): Array<readonly [string, unknown]> | OAuthError {
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding !== 'identity') return invalidRequest('encoded request bodies are not accepted');
  // The same one-pass form parser the token endpoint reads its bodies with.
  if (bodyKind(req.headers['content-type']) === 'form') return parseFormPairs(body);
  const text = body.toString('utf8');
  try {
    const parsed = parseUntrustedObject(text);
    return parsed === undefined ? [] : Object.entries(parsed);
  } catch (error) {
    return invalidRequest(
      error instanceof UntrustedJsonRefused && error.reason === 'prototype_member'
        ? 'the JSON request body has a member named __proto__'
        : 'the JSON request body cannot be parsed',
    );
  }
}

/**
 * Reads a checkable body (hasInspectableBody) under the limit and refuses it when its parameters
 * ask the front channel for a token (front-channel.ts). Resolves to the body to forward.
 */
export async function checkedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const body = await readBody(req, limit);
  const params = bodyParams(req, body);
  if (params instanceof OAuthError) throw params;
  const refusal = frontChannelRefusal(params);
  if (refusal) throw refusal;
  return body;
}
