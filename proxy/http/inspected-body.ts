/**
 * Bodies of proxied requests, read as parameters from every carrier an upstream might read them
 * from: form-urlencoded, JSON, multipart/form-data, text/plain (an HTML form's `text/plain`
 * encoding, and `&`-joined), and a body with no content type (read every way at once: lenient
 * servers guess). The parameters are checked before the upstream sees them, and the body is then
 * forwarded byte for byte.
 *
 * A body of another type, or without a type, streams through unread, except on a screened request
 * (authorization, PAR, logout, or one naming an authorization parameter), where a body without a
 * type is read every way and one scopegate cannot read is refused: the upstream might read in it
 * what scopegate did not.
 */
import type { IncomingMessage } from 'node:http';
import { parseFormPairs } from './form-urlencoded.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { invalidRequest, OAuthError } from './oauth-error.js';
import { parseUntrustedObject, UntrustedJsonRefused } from './untrusted-json.js';

export type BodyCarrier = 'form' | 'json' | 'multipart' | 'text' | 'untyped';

export type BodyParams = Array<readonly [string, unknown]>;

/** Whether the request has a body at all (declared or chunked). */
export function hasRequestBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** The carrier a content type names, or undefined when scopegate does not read its parameters. */
export function bodyCarrier(contentType: string | undefined): BodyCarrier | undefined {
  if (contentType === undefined || contentType.trim() === '') return 'untyped';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  if (mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) {
    return 'json';
  }
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (mediaType === 'text/plain') return 'text';
  return undefined;
}

/** A JSON object's members; a body that is not JSON, or names `__proto__`, cannot be checked. */
function jsonParams(text: string): BodyParams | OAuthError {
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

/** `name=value` lines (text/plain form encoding), also split on `&`. */
function textParams(body: Buffer): BodyParams {
  const pairs: Array<[string, string]> = [];
  for (const line of body.toString('utf8').split(/\r\n|\n|\r|&/)) {
    if (line === '') continue;
    const equals = line.indexOf('=');
    pairs.push(equals < 0 ? [line, ''] : [line.slice(0, equals), line.slice(equals + 1)]);
  }
  return [...pairs, ...parseFormPairs(body)];
}

/** The body's parameters, or why it cannot be checked. */
export function bodyParams(
  carrier: BodyCarrier,
  contentType: string | undefined,
  body: Buffer,
): BodyParams | OAuthError {
  switch (carrier) {
    case 'form':
      return parseFormPairs(body);
    case 'json':
      return jsonParams(body.toString('utf8'));
    case 'multipart': {
      const boundary = multipartBoundary(contentType ?? '');
      const fields = boundary === undefined ? undefined : parseMultipart(body, boundary);
      return fields ?? invalidRequest('the multipart request body cannot be parsed');
    }
    case 'text':
      return textParams(body);
    case 'untyped': {
      // Read every way a server might guess: as a form, as text lines and, if it is one, as JSON.
      // A body that looks like JSON but cannot be read as it is refused: the upstream may read it.
      const json = body.subarray(0, 64).toString('utf8').trimStart().startsWith('{')
        ? jsonParams(body.toString('utf8'))
        : [];
      return json instanceof OAuthError ? json : [...textParams(body), ...json];
    }
  }
}

/** Why a body with this Content-Encoding cannot be checked, or undefined. */
export function encodingRefusal(req: IncomingMessage): OAuthError | undefined {
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  return encoding === 'identity'
    ? undefined
    : invalidRequest('encoded request bodies are not accepted');
}
