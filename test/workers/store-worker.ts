/**
 * A stand-in worker for test/workers/shared-store.test.ts, run as a real child process (built, from
 * dist/): the replay guard and the token cache backend as a worker builds them, over the real IPC
 * channel to its parent, which holds the PrimaryStore as the primary does. The parent drives it
 * with questions of its own on the same channel.
 */
import { configSchema } from '../../config/schema.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { AuthorizationStore } from '../../proxy/runtime/authorization-store.js';
import { CacheInPrimary } from '../../proxy/runtime/cache-in-primary.js';
import { IpcChannel, primaryEndpoint } from '../../proxy/runtime/ipc-channel.js';
import { ReplayGuard } from '../../proxy/runtime/replay-guard.js';
import { RevokedTokens } from '../../proxy/runtime/revoked-tokens.js';

const parsed = configSchema.parse({
  listen: '127.0.0.1:0',
  issuer: 'https://gateway.example',
  upstream: { url: 'https://idp.example' },
  signing: { keys: [{ kid: 'k1', alg: 'ES256', private_key_file: 'k1.pem' }] },
});
const { tokens } = parsed;

const primary = new IpcChannel(primaryEndpoint());
const guard = new ReplayGuard(tokens.replay, undefined, undefined, undefined, primary);
const revoked = new RevokedTokens(tokens.revocation, undefined, undefined, undefined, primary);
const authorizations = new AuthorizationStore(
  parsed.pushed_authorization,
  undefined,
  undefined,
  undefined,
  primary,
);
const cache = new CacheInPrimary(primary, Number(process.env.UPSTREAM_TIMEOUT_MS ?? 5000));

/** An OAuth error as its status: what the client would be answered. */
async function outcome<T>(action: () => Promise<T>): Promise<T | { status: number }> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof OAuthError) return { status: error.status };
    throw error;
  }
}

primary.handle('test.firstUse', (payload) => {
  const { value } = payload as { value: string };
  return outcome(() => guard.firstUse('dpop', value, Date.now() + 60_000));
});
primary.handle('test.revoke', (payload) =>
  outcome(() => revoked.revoke((payload as { ref: string }).ref, Date.now() / 1000 + 60)),
);
primary.handle('test.revoked', (payload) =>
  outcome(() => revoked.anyRevoked([(payload as { ref: string }).ref])),
);
primary.handle('test.cacheGet', async (payload) => {
  const started = Date.now();
  const value = await cache.get((payload as { key: string }).key);
  return { value: value?.toString('utf8') ?? null, waitedMs: Date.now() - started };
});
primary.handle('test.cacheSet', async (payload) => {
  const { key, value } = payload as { key: string; value: string };
  await cache.set(key, Buffer.from(value), 60_000);
  return true;
});
primary.handle('test.cacheRelease', async (payload) => {
  await cache.release((payload as { key: string }).key);
  return true;
});
primary.handle('test.push', (payload) => {
  const { requestUri } = payload as { requestUri: string };
  const binding = { clientId: 'c1', redirectUri: 'https://rp.example/cb', codeChallenge: 'x' };
  return outcome(async () => {
    await authorizations.put('pushed', requestUri, { ...binding, params: [] }, Date.now() + 60_000);
    return true;
  });
});
primary.handle('test.takePushed', (payload) =>
  outcome(async () => {
    const record = await authorizations.take(
      'pushed',
      (payload as { requestUri: string }).requestUri,
    );
    return record?.clientId ?? null;
  }),
);
primary.notify('test.ready', null);
