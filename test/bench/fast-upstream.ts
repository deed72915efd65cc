/**
 * The benchmark's upstream, in a process of its own: an IdP that does no per-request work beyond
 * HTTP. Its access tokens are signed at start-up (a pool of distinct tokens, so the gateway's
 * verified-token memo cannot hide verification in the "uncached" runs); the token endpoint hands
 * them out in turn. It also serves a small and a 1 MiB response for the pass-through runs, and
 * counts token calls (GET /__token_calls) so the benchmark can report upstream calls per 1,000
 * client requests.
 *
 * Prints {"url": ...} as one JSON line on stdout once listening; ends when stdin closes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const BENCH_AUDIENCE = 'https://bench-api.example.com';
export const BENCH_CLIENT_ID = 'bench-m2m';
export const BENCH_CLIENT_SECRET = 'bench-secret';
export const BENCH_GRANTED = 'read:claims write:claims read:reports delete:claims accounts.*';
export const SMALL_BODY = Buffer.from(JSON.stringify({ ok: true, service: 'bench', n: 42 }));
export const LARGE_BODY = Buffer.alloc(1024 * 1024, 'x');

const ALG = process.env.BENCH_UPSTREAM_ALG ?? 'ES256';
const POOL = Number(process.env.BENCH_TOKEN_POOL ?? 12_000);

async function main(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-upstream', alg: ALG, use: 'sig' };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${url}/`;
  const exp = Math.floor(Date.now() / 1000) + 86_400;
  const answers: Buffer[] = [];
  for (let index = 0; index < POOL; index++) {
    const token = await new SignJWT({
      scope: BENCH_GRANTED,
      gty: 'client-credentials',
      azp: BENCH_CLIENT_ID,
      n: index,
    })
      .setProtectedHeader({ alg: ALG, kid: 'bench-upstream', typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(`${BENCH_CLIENT_ID}@clients`)
      .setAudience(BENCH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(privateKey);
    answers.push(
      Buffer.from(
        JSON.stringify({
          access_token: token,
          token_type: 'Bearer',
          expires_in: 86_400,
          scope: BENCH_GRANTED,
        }),
      ),
    );
  }
  const discovery = Buffer.from(
    JSON.stringify({
      issuer,
      token_endpoint: `${url}/oauth/token`,
      jwks_uri: `${url}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
    }),
  );
  const jwks = Buffer.from(JSON.stringify({ keys: [jwk] }));
  let next = 0;
  let tokenCalls = 0;
  const json = { 'content-type': 'application/json' };

  server.on('request', (req, res) => {
    const path = req.url ?? '/';
    if (req.method === 'POST' && path === '/oauth/token') {
      tokenCalls += 1;
      const answer = answers[next] as Buffer;
      next = (next + 1) % answers.length;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          ...json,
          'content-length': answer.length,
          'cache-control': 'no-store',
        });
        res.end(answer);
      });
      return;
    }
    req.resume();
    let body: Buffer;
    if (path === '/small') body = SMALL_BODY;
    else if (path === '/large') body = LARGE_BODY;
    else if (path === '/.well-known/openid-configuration') body = discovery;
    else if (path === '/.well-known/jwks.json') body = jwks;
    else if (path === '/__token_calls') body = Buffer.from(JSON.stringify({ calls: tokenCalls }));
    else {
      res.writeHead(404, { 'content-length': 0 });
      res.end();
      return;
    }
    res.writeHead(200, { ...json, 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

if (process.argv[1]?.endsWith('fast-upstream.js')) await main();
