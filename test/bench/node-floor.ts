/**
 * The benchmark's Node.js floor: the least a Node.js process must do for the two workloads
 * scopegate serves, so the table can say how much of scopegate's cost is Node's HTTP stack and
 * how much is scopegate's own work.
 *
 * - Pass-through: `http.createServer` piping to `http.request` over a keep-alive agent, headers
 *   copied as they are (no hop-by-hop hygiene, no timeouts, no metrics, no logs).
 * - Token path: the same two HTTP legs, the upstream's ES256 access token verified with
 *   node:crypto (signature only: no claim, key-selection or duplicate checks) and a new ES256
 *   token signed from its payload (no narrowing, policies, logs or metrics).
 * - Token path from the cache: a token request naming BENCH_CLIENT_ID (the client scopegate's
 *   upstream token cache serves) is answered without the upstream: its body read, a token signed
 *   from claims kept since the first answer, the JSON written. That is the least a cache hit
 *   costs (no key derivation, lookup, verification or narrowing).
 *
 * Neither is usable as a product; both are what a faster scopegate could at best approach on
 * Node.js. Prints `{"url": ...}` once listening; exits when stdin ends.
 *
 *   node dist/test/bench/node-floor.js UPSTREAM_URL
 */
import {
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKeyInput,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import http from 'node:http';
import { BENCH_CLIENT_ID } from './fast-upstream.js';

async function main(): Promise<void> {
  const upstream = new URL(process.argv[2] as string);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const jwks = (await (await fetch(new URL('/.well-known/jwks.json', upstream))).json()) as {
    keys: Array<JsonWebKeyInput['key']>;
  };
  const upstreamKey = createPublicKey({
    key: jwks.keys[0] as JsonWebKeyInput['key'],
    format: 'jwk',
  });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const header = Buffer.from(
    JSON.stringify({ alg: 'ES256', kid: 'floor', typ: 'at+jwt' }),
  ).toString('base64url');

  const signToken = (claims: Record<string, unknown>): Buffer => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${header}.${Buffer.from(
      JSON.stringify({ ...claims, iss: 'http://floor', iat: now, jti: randomUUID() }),
    ).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return Buffer.from(
      JSON.stringify({
        access_token: `${input}.${signature.toString('base64url')}`,
        token_type: 'Bearer',
        expires_in: 300,
      }),
    );
  };
  /** Claims of the first verified answer: what a cache hit signs from. */
  let cachedClaims: Record<string, unknown> | undefined;

  const reissue = (body: Buffer): Buffer | undefined => {
    const answer = JSON.parse(body.toString('utf8')) as { access_token?: string };
    const token = answer.access_token ?? '';
    const last = token.lastIndexOf('.');
    const valid = verify(
      'sha256',
      Buffer.from(token.slice(0, last)),
      { key: upstreamKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(token.slice(last + 1), 'base64url'),
    );
    if (!valid) return undefined;
    const claims = JSON.parse(
      Buffer.from(token.slice(token.indexOf('.') + 1, last), 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    cachedClaims ??= claims;
    return signToken(claims);
  };

  const respond = (res: http.ServerResponse, body: Buffer) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      forward(req, res);
      return;
    }
    // Token requests are read whole first, as scopegate reads them.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString('latin1'));
      if (cachedClaims !== undefined && params.get('client_id') === BENCH_CLIENT_ID) {
        respond(res, signToken(cachedClaims));
      } else {
        forward(req, res, body);
      }
    });
  });

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, read?: Buffer) => {
    const outgoing = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        if (req.method !== 'POST') {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = reissue(Buffer.concat(chunks));
          if (body === undefined) res.writeHead(502).end();
          else respond(res, body);
        });
      },
    );
    outgoing.on('error', () => res.writeHead(502).end());
    if (read === undefined) req.pipe(outgoing);
    else outgoing.end(read);
  };
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

if (process.argv[1]?.endsWith('node-floor.js')) await main();
