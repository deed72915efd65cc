/**
 * The demo upstream's request side: capped body reading, token parameters (form or JSON),
 * client credentials (Basic or body) and the secret comparison, plus the JSON reply every
 * upstream route answers with. Free of upstream state, so each piece is a plain function.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY_BYTES = 64 * 1024;
// Past this we stop draining and drop the connection: a demo upstream needn't absorb floods.
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

/** Rejection of readBody past MAX_BODY_BYTES; the server answers it with 413. */
export class BodyTooLarge extends Error {}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Reads the whole body. Beyond the cap it keeps draining (so the client gets to read our 413
 * instead of a reset connection while still uploading) and rejects at the end.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.destroy();
        reject(new BodyTooLarge());
        return;
      }
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new BodyTooLarge());
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export type ParsedParams =
  | { ok: true; params: Record<string, string> }
  | { ok: false; reason: string };

export function parseTokenParams(contentType: string | undefined, body: Buffer): ParsedParams {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = body.toString('utf8');
  if (mediaType === 'application/x-www-form-urlencoded') {
    const params: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      // First occurrence wins; Auth0 does not document duplicates and the gateway rejects them.
      if (!(key in params)) params[key] = value;
    }
    return { ok: true, params };
  }
  if (mediaType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'Invalid JSON body' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ok: false, reason: 'Invalid JSON body' };
    }
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string') params[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') params[key] = String(value);
      else return { ok: false, reason: `Invalid value for parameter: ${key}` };
    }
    return { ok: true, params };
  }
  return {
    ok: false,
    reason: 'Content-Type must be application/x-www-form-urlencoded or application/json',
  };
}

/** Decodes one half of a Basic credential; RFC 6749 §2.3.1 form-encodes id and secret. */
function decodeBasicPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

export type Credentials =
  | { ok: true; clientId: string; clientSecret: string }
  | { ok: false; status: number; error: string; description: string };

export function extractCredentials(
  req: IncomingMessage,
  params: Record<string, string>,
): Credentials {
  const unauthorized: Credentials = {
    ok: false,
    status: 401,
    error: 'access_denied',
    description: 'Unauthorized',
  };
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!match?.[1]) return unauthorized;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return unauthorized;
    if (params.client_secret !== undefined) {
      // RFC 6749 §2.3: a client must not use more than one authentication method per request.
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        description: 'Only one client authentication method may be used',
      };
    }
    const clientId = decodeBasicPart(decoded.slice(0, colon));
    if (params.client_id !== undefined && params.client_id !== clientId) return unauthorized;
    return { ok: true, clientId, clientSecret: decodeBasicPart(decoded.slice(colon + 1)) };
  }
  if (!params.client_id || !params.client_secret) return unauthorized;
  return { ok: true, clientId: params.client_id, clientSecret: params.client_secret };
}

/** Constant-time comparison; hashing first equalises the lengths timingSafeEqual requires. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s.length > 0);
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
