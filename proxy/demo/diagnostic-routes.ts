/**
 * The Auth0 emulator's diagnostic routes, which let it stand in for a resource server behind the
 * gateway: /api/echo* mirrors the request, /api/slow and /api/stream take their time, and
 * /api/status/:code answers with any status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './emulator-request.js';

const MAX_WAIT_MS = 60_000;
const MAX_STREAM_CHUNKS = 1000;
const STREAM_CHUNK_DELAY_MS = 10;

/**
 * The emulator's lifecycle as the waiting routes see it: close() must cut their waits short and
 * stop their writes, so they wait and check through the emulator rather than on their own.
 */
export interface DiagnosticLifecycle {
  /** resolves after ms, or as soon as the emulator closes */
  wait(ms: number): Promise<void>;
  /** true once close() has been called */
  closed(): boolean;
}

export async function handleEcho(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const body = await readBody(req);
  sendJson(res, 200, {
    method: req.method,
    path: q < 0 ? rawUrl : rawUrl.slice(0, q),
    query: q < 0 ? '' : rawUrl.slice(q),
    headers: req.headers,
    body: body.toString('utf8'),
  });
}

export async function handleSlow(
  lifecycle: DiagnosticLifecycle,
  res: ServerResponse,
  search: URLSearchParams,
): Promise<void> {
  const ms = Math.min(Math.max(Number(search.get('ms') ?? '0') || 0, 0), MAX_WAIT_MS);
  await lifecycle.wait(ms);
  if (lifecycle.closed() || res.destroyed) return;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 4 });
  res.end('slow');
}

export async function handleStream(
  lifecycle: DiagnosticLifecycle,
  res: ServerResponse,
  search: URLSearchParams,
): Promise<void> {
  const requested = Math.trunc(Number(search.get('chunks') ?? '5') || 0);
  const chunks = Math.min(Math.max(requested, 0), MAX_STREAM_CHUNKS);
  // No content-length: node then uses Transfer-Encoding: chunked.
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-emulator': 'yes' });
  res.flushHeaders();
  for (let i = 0; i < chunks; i++) {
    if (lifecycle.closed() || res.destroyed) return;
    res.write(`chunk ${i}\n`);
    await lifecycle.wait(STREAM_CHUNK_DELAY_MS);
  }
  if (!res.destroyed) res.end();
}

export function handleStatus(req: IncomingMessage, res: ServerResponse, codeText: string): void {
  const code = Number(codeText);
  if (!/^[0-9]{3}$/.test(codeText) || code < 200 || code > 599) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'status must be 200-599' });
    return;
  }
  const headers = {
    'x-emulator': 'yes',
    'set-cookie': 'emulator=yes; Path=/; HttpOnly',
  };
  // These statuses may not carry a body (RFC 9110 §15.3.5, §15.4.5).
  if (code === 204 || code === 304 || req.method === 'HEAD') {
    res.writeHead(code, headers);
    res.end();
    return;
  }
  sendJson(res, code, { status: code }, headers);
}
