/**
 * The state workers share through the primary (proxy/server/primary-store.ts), between real
 * processes over the real node:cluster-style IPC channel: two stand-in workers
 * (store-worker.ts, built) ask this test process, which holds the PrimaryStore as the primary does.
 *
 * - The replay guard: a value used at one worker is refused at the other, and of two workers that
 *   present it at once exactly one sees its first use.
 * - The revocation list: revoked at one, refused at the other.
 * - The authorization flow records (PAR): pushed at one worker, taken once at the other.
 * - A primary that does not answer in time is a 503 for replay and revocation checks (fail closed).
 * - The token cache's lease: a worker that misses a key another worker is fetching waits for that
 *   answer; when the fetching worker keeps nothing or dies, the waiter is let go at once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { IpcChannel, type IpcEndpoint } from '../../proxy/runtime/ipc-channel.js';
import { PrimaryStore } from '../../proxy/server/primary-store.js';
import { waitFor } from '../support/wait.js';

const WORKER = path.join(packageRoot(), 'dist', 'test', 'workers', 'store-worker.js');

const config = configSchema.parse({
  listen: '127.0.0.1:0',
  issuer: 'https://gateway.example',
  upstream: { url: 'https://idp.example' },
  signing: { keys: [{ kid: 'k1', alg: 'ES256', private_key_file: 'k1.pem' }] },
});

interface StandIn {
  child: ChildProcess;
  channel: IpcChannel;
  ask(op: string, payload: unknown): Promise<unknown>;
}

let children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children = [];
});

function endpointOf(child: ChildProcess): IpcEndpoint {
  return {
    send(message, done) {
      child.send(message, undefined, {}, done);
    },
    onMessage(listener) {
      child.on('message', listener);
      return () => child.off('message', listener);
    },
  };
}

/** A stand-in worker; `answering: false` leaves its questions unanswered (a stuck primary). */
async function standIn(
  store: PrimaryStore,
  id: number,
  { answering = true, env = {} }: { answering?: boolean; env?: Record<string, string> } = {},
): Promise<StandIn> {
  const child = fork(WORKER, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  const channel = new IpcChannel(endpointOf(child));
  for (const [op, handler] of Object.entries(store.handlersFor(id))) {
    channel.handle(op, answering ? handler : () => new Promise(() => {}));
  }
  child.once('exit', () => {
    channel.close();
    store.forget(id);
  });
  await new Promise<void>((resolve) => channel.onNote('test.ready', () => resolve()));
  return { child, channel, ask: (op, payload) => channel.request(op, payload, 10_000) };
}

describe('state shared through the primary, between real processes', () => {
  it('replay guard: one first use across workers, then refused at every worker', async () => {
    const store = new PrimaryStore(config);
    const [a, b] = await Promise.all([standIn(store, 1), standIn(store, 2)]);
    if (a === undefined || b === undefined) throw new Error('no stand-ins');
    const together = await Promise.all([
      a.ask('test.firstUse', { value: 'jti-1' }),
      b.ask('test.firstUse', { value: 'jti-1' }),
    ]);
    expect(together.filter((first) => first === true)).toHaveLength(1);
    expect(await a.ask('test.firstUse', { value: 'jti-2' })).toBe(true);
    expect(await b.ask('test.firstUse', { value: 'jti-2' })).toBe(false);
    expect(await a.ask('test.firstUse', { value: 'jti-2' })).toBe(false);
  });

  it('revocation list: revoked at one worker, refused at the other', async () => {
    const store = new PrimaryStore(config);
    const [a, b] = await Promise.all([standIn(store, 1), standIn(store, 2)]);
    if (a === undefined || b === undefined) throw new Error('no stand-ins');
    expect(await b.ask('test.revoked', { ref: 'r1' })).toBe(false);
    await a.ask('test.revoke', { ref: 'r1' });
    expect(await b.ask('test.revoked', { ref: 'r1' })).toBe(true);
  });

  it('authorization records: pushed at one worker, taken once at the other', async () => {
    const store = new PrimaryStore(config);
    const [a, b] = await Promise.all([standIn(store, 1), standIn(store, 2)]);
    if (a === undefined || b === undefined) throw new Error('no stand-ins');
    expect(await a.ask('test.push', { requestUri: 'urn:x:1' })).toBe(true);
    expect(await b.ask('test.takePushed', { requestUri: 'urn:x:1' })).toBe('c1');
    expect(await a.ask('test.takePushed', { requestUri: 'urn:x:1' })).toBeNull();
    // Of two workers taking one record at once, exactly one gets it.
    expect(await b.ask('test.push', { requestUri: 'urn:x:3' })).toBe(true);
    const taken = await Promise.all([
      a.ask('test.takePushed', { requestUri: 'urn:x:3' }),
      b.ask('test.takePushed', { requestUri: 'urn:x:3' }),
    ]);
    expect(taken.filter((client) => client === 'c1')).toHaveLength(1);
  });

  it('fails closed (503) when the primary does not answer in time', async () => {
    const store = new PrimaryStore(config);
    const stuck = await standIn(store, 1, { answering: false });
    expect(await stuck.ask('test.firstUse', { value: 'jti-3' })).toEqual({ status: 503 });
    expect(await stuck.ask('test.revoked', { ref: 'r2' })).toEqual({ status: 503 });
    expect(await stuck.ask('test.revoke', { ref: 'r2' })).toEqual({ status: 503 });
    expect(await stuck.ask('test.push', { requestUri: 'urn:x:2' })).toEqual({ status: 503 });
  });

  it('token cache lease: a waiter gets the holder’s answer, or is let go when the holder dies', async () => {
    const store = new PrimaryStore(config);
    const env = { UPSTREAM_TIMEOUT_MS: '20000' };
    const [a, b] = await Promise.all([standIn(store, 1, { env }), standIn(store, 2, { env })]);
    if (a === undefined || b === undefined) throw new Error('no stand-ins');
    // a misses first and holds the lease; b's miss waits for a's answer.
    expect(await a.ask('test.cacheGet', { key: 'k1' })).toMatchObject({ value: null });
    const waiting = b.ask('test.cacheGet', { key: 'k1' });
    await waitFor(() => store.waiting('k1') === 1, 'b waiting');
    await a.ask('test.cacheSet', { key: 'k1', value: 'answer-1' });
    expect(await waiting).toMatchObject({ value: 'answer-1' });

    // a holds k3 and keeps nothing (an upstream error): b is let go at once to call itself.
    expect(await a.ask('test.cacheGet', { key: 'k3' })).toMatchObject({ value: null });
    const third = b.ask('test.cacheGet', { key: 'k3' });
    await waitFor(() => store.waiting('k3') === 1, 'b waiting');
    await a.ask('test.cacheRelease', { key: 'k3' });
    const released = (await third) as { value: string | null; waitedMs: number };
    expect(released.value).toBeNull();
    expect(released.waitedMs).toBeLessThan(5000);

    // a holds k2 and dies: b is let go at once (not after the 20 s lease) and calls itself.
    expect(await a.ask('test.cacheGet', { key: 'k2' })).toMatchObject({ value: null });
    const second = b.ask('test.cacheGet', { key: 'k2' });
    await waitFor(() => store.waiting('k2') === 1, 'b waiting');
    a.child.kill('SIGKILL');
    const answer = (await second) as { value: string | null; waitedMs: number };
    expect(answer.value).toBeNull();
    expect(answer.waitedMs).toBeLessThan(5000);
  });
});
