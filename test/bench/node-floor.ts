/**
 * The benchmark's Node.js floors: the least a Node.js process must do for the two workloads
 * scopegate serves, so the table can say how much of scopegate's cost is Node's HTTP stack and
 * how much is scopegate's own work. "Floor" means the cheapest way Node.js has, so each floor
 * runs with one of two upstream clients (the second argument), and the bench reports both:
 *
 * - `undici`: an undici `Pool` (keep-alive, no connection limit) for the token leg, through its
 *   dispatcher handler interface (no body stream), and undici's `stream` (the answer written
 *   straight into the client's response) for pass-through. The cheaper of the two, and so the
 *   floor the targets compare with.
 * - `http`: `http.request` over a keep-alive `http.Agent`, the response `pipe`d: the client
 *   scopegate's own upstream calls and its reverse proxy used before.
 *
 * Each does, and no more:
 * - Pass-through: headers copied as they are (undici refuses hop-by-hop request headers, so those
 *   few are left out there); no hygiene, timeouts, metrics or logs.
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
 *   node dist/test/bench/node-floor.js UPSTREAM_URL [undici|http]
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
import { type Dispatcher, Pool } from 'undici';
import { BENCH_CLIENT_ID } from './fast-upstream.js';

/** The two upstream clients a floor can use. */
export const FLOOR_CLIENTS = ['undici', 'http'] as const;
export type FloorClient = (typeof FLOOR_CLIENTS)[number];

type Headers = Record<string, string | string[] | undefined>;

/** One upstream client: a buffered exchange for the token leg, a pipe for pass-through. */
interface UpstreamLeg {
  exchange(
    req: http.IncomingMessage,
    body: Buffer,
    done: (answer: { status: number; body: Buffer } | undefined) => void,
  ): void;
  pipe(req: http.IncomingMessage, res: http.ServerResponse): void;
  close(): Promise<void>;
}

function httpLeg(upstream: URL): UpstreamLeg {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const options = (req: http.IncomingMessage): http.RequestOptions => ({
    host: upstream.hostname,
    port: upstream.port,
    path: req.url,
    method: req.method,
    headers: req.headers,
    agent,
  });
  return {
    exchange(req, body, done) {
      const outgoing = http.request(options(req), (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          done({ status: answer.statusCode ?? 502, body: Buffer.concat(chunks) }),
        );
        answer.on('error', () => done(undefined));
      });
      outgoing.on('error', () => done(undefined));
      outgoing.end(body);
    },
    pipe(req, res) {
      const outgoing = http.request(options(req), (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      outgoing.on('error', () => res.writeHead(502).end());
      req.pipe(outgoing);
    },
    async close() {
      agent.destroy();
    },
  };
}

/** Request headers undici refuses (hop-by-hop, RFC 9110 §7.6.1): the only ones left out. */
const UNDICI_REFUSED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

function withoutHopByHop(headers: Headers): Headers {
  const kept: Headers = {};
  for (const name in headers) {
    if (!UNDICI_REFUSED.has(name)) kept[name] = headers[name];
  }
  return kept;
}

function undiciLeg(upstream: URL): UpstreamLeg {
  const pool = new Pool(upstream.origin, { keepAliveTimeout: 60_000 });
  return {
    // The dispatcher's own handler interface, below `request` and its body stream: measured
    // 5-15% less CPU per token than `pool.request` on this machine, so the floor uses it.
    exchange(req, body, done) {
      const chunks: Buffer[] = [];
      let status = 0;
      pool.dispatch(
        { path: req.url ?? '/', method: 'POST', headers: withoutHopByHop(req.headers), body },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            done({ status, body: Buffer.concat(chunks) });
          },
          onResponseError() {
            done(undefined);
          },
        },
      );
    },
    pipe(req, res) {
      const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
      pool.stream(
        {
          path: req.url ?? '/',
          method,
          headers: withoutHopByHop(req.headers),
          body: method === 'GET' || method === 'HEAD' ? null : req,
        },
        ({ statusCode, headers }) => {
          res.writeHead(statusCode, withoutHopByHop(headers));
          return res;
        },
        (error) => {
          if (error && !res.headersSent) res.writeHead(502).end();
          else if (error) res.destroy();
        },
      );
    },
    close: () => pool.close(),
  };
}

async function main(): Promise<void> {
  const upstream = new URL(process.argv[2] as string);
  const client = (process.argv[3] ?? 'undici') as FloorClient;
  if (!FLOOR_CLIENTS.includes(client)) throw new Error(`unknown floor client ${client}`);
  const leg = client === 'undici' ? undiciLeg(upstream) : httpLeg(upstream);
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
      leg.pipe(req, res);
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
        return;
      }
      leg.exchange(req, body, (answer) => {
        const reissued = answer?.status === 200 ? reissue(answer.body) : undefined;
        if (reissued === undefined) res.writeHead(502).end();
        else respond(res, reissued);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, client })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.closeAllConnections();
    server.close(() => void leg.close().finally(() => process.exit(0)));
  });
}

if (process.argv[1]?.endsWith('node-floor.js')) await main();
