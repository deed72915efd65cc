/**
 * The bench's Node.js floors (undici and http.request) must each do the work their rows claim, or the targets it is compared with
 * mean nothing: an uncached token verified upstream and re-signed, a cached client answered
 * without calling the upstream, pass-through bodies unchanged. Runs the built scripts (npm test
 * builds first), as `npm run bench` does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BENCH_AUDIENCE,
  BENCH_CLIENT_ID,
  BENCH_CLIENT_SECRET,
  SMALL_BODY,
} from './fast-upstream.js';
import { FLOOR_CLIENTS } from './node-floor.js';

const BUILT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/test/bench');

const children: ChildProcess[] = [];

async function startBuilt(script: string, args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, [path.join(BUILT, script), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    return (JSON.parse(line) as { url: string }).url;
  }
  throw new Error(`${script} ended before printing its URL`);
}

const tokenRequest = (clientId: string) =>
  new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: BENCH_CLIENT_SECRET,
    audience: BENCH_AUDIENCE,
  }).toString();

async function token(floorUrl: string, clientId: string) {
  const response = await fetch(`${floorUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenRequest(clientId),
  });
  expect(response.status).toBe(200);
  const { access_token: accessToken } = (await response.json()) as { access_token: string };
  const [header, payload] = accessToken
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

const tokenCalls = async (upstreamUrl: string) =>
  ((await (await fetch(`${upstreamUrl}/__token_calls`)).json()) as { calls: number }).calls;

describe.each(FLOOR_CLIENTS)('the bench Node.js floor with %s', (client) => {
  let upstream: string;
  let floor: string;

  beforeAll(async () => {
    upstream = await startBuilt('fast-upstream.js');
    floor = await startBuilt('node-floor.js', [upstream, client]);
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('re-signs an uncached token from the upstream answer, with its own key', async () => {
    const before = await tokenCalls(upstream);
    const { header, payload } = await token(floor, 'floor-uncached');
    expect(await tokenCalls(upstream)).toBe(before + 1);
    expect(header).toMatchObject({ alg: 'ES256', kid: 'floor' });
    expect(payload.iss).toBe('http://floor');
    expect(payload.aud).toBe(BENCH_AUDIENCE);
    expect(typeof payload.jti).toBe('string');
  });

  it('answers the cached client without calling the upstream, a fresh token each time', async () => {
    // The floor signs cache hits from the claims of the first answer it verified.
    await token(floor, BENCH_CLIENT_ID);
    const before = await tokenCalls(upstream);
    const first = await token(floor, BENCH_CLIENT_ID);
    const second = await token(floor, BENCH_CLIENT_ID);
    expect(await tokenCalls(upstream)).toBe(before);
    expect(first.header.kid).toBe('floor');
    expect(first.payload.jti).not.toBe(second.payload.jti);
  });

  it('pipes pass-through responses unchanged', async () => {
    const response = await fetch(`${floor}/small`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(SMALL_BODY)).toBe(true);
  });

  it('pipes a 1 MiB response whole', async () => {
    const response = await fetch(`${floor}/large`);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(1024 * 1024);
  });
});
