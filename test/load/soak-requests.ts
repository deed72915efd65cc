/**
 * The request mix of the load and soak run: valid, invalid and faulting requests, each with the
 * statuses it may get. A status outside its set is "unexpected" and fails the run.
 */
import net from 'node:net';

export const SOAK_API = 'https://api.example.com';
export const SOAK_CLIENT = { id: 'soak-m2m', secret: 'soak-secret' };
export const SOAK_GRANTED = ['read:claims', 'write:claims', 'read:reports'];

export interface SoakAnswer {
  status: number;
  /** Header names and values, and the body, as one text to scan for tokens. */
  text: string;
  body: string;
}

export interface SoakRequestKind {
  name: string;
  weight: number;
  /** Statuses allowed while the upstream issues honest tokens, and while it issues broken ones. */
  expected: readonly number[];
  expectedWhileFaulty?: readonly number[];
  send(baseUrl: string): Promise<SoakAnswer>;
}

async function answerOf(response: Response): Promise<SoakAnswer> {
  const body = await response.text();
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return { status: response.status, text: `${headers}\n\n${body}`, body };
}

function tokenRequest(form: string): (baseUrl: string) => Promise<SoakAnswer> {
  return async (baseUrl) =>
    answerOf(
      await fetch(`${baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      }),
    );
}

const credentials = `grant_type=client_credentials&client_id=${SOAK_CLIENT.id}&client_secret=${SOAK_CLIENT.secret}&audience=${encodeURIComponent(SOAK_API)}`;

/** Raw bytes Node's parser refuses: answered by the gateway itself, whatever the upstream does. */
function rawFramingError(baseUrl: string): Promise<SoakAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        'POST /oauth/token HTTP/1.1\r\nhost: soak\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      );
    });
    const chunks: Buffer[] = [];
    const limit = setTimeout(
      () => socket.destroy(new Error('no answer to a framing error')),
      10_000,
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(limit);
      const raw = Buffer.concat(chunks).toString('utf8');
      const split = raw.indexOf('\r\n\r\n');
      resolve({
        status: Number(raw.split(' ')[1] ?? 0),
        text: raw,
        body: split < 0 ? '' : raw.slice(split + 4),
      });
    });
  });
}

export const SOAK_REQUESTS: readonly SoakRequestKind[] = [
  {
    name: 'token: subset of the granted scopes',
    weight: 25,
    expected: [200],
    expectedWhileFaulty: [502],
    send: tokenRequest(`${credentials}&scope=read%3Aclaims`),
  },
  {
    name: 'token: no scope (everything granted)',
    weight: 10,
    expected: [200],
    expectedWhileFaulty: [502],
    send: tokenRequest(credentials),
  },
  {
    name: 'token: a scope not granted',
    weight: 8,
    expected: [400],
    expectedWhileFaulty: [502],
    send: tokenRequest(`${credentials}&scope=admin%3Aall`),
  },
  {
    name: 'token: wrong client secret',
    weight: 5,
    expected: [401],
    send: tokenRequest(
      `grant_type=client_credentials&client_id=${SOAK_CLIENT.id}&client_secret=wrong&audience=${encodeURIComponent(SOAK_API)}`,
    ),
  },
  {
    name: 'token: repeated parameter',
    weight: 5,
    expected: [400],
    send: tokenRequest(`${credentials}&scope=a&scope=b`),
  },
  {
    name: 'token: GET on the token path',
    weight: 3,
    expected: [405],
    send: async (baseUrl) => answerOf(await fetch(`${baseUrl}/oauth/token`)),
  },
  {
    name: 'token: framing error',
    weight: 3,
    expected: [400],
    send: rawFramingError,
  },
  {
    name: 'proxy: echo',
    weight: 15,
    expected: [200],
    send: async (baseUrl) =>
      answerOf(
        await fetch(`${baseUrl}/api/echo/soak?x=1`, { headers: { 'x-forwarded-for': '6.6.6.6' } }),
      ),
  },
  {
    name: 'proxy: upstream 503',
    weight: 5,
    expected: [503],
    send: async (baseUrl) => answerOf(await fetch(`${baseUrl}/api/status/503`)),
  },
  {
    name: 'proxy: upstream slower than upstream.timeout',
    weight: 2,
    expected: [504],
    send: async (baseUrl) => answerOf(await fetch(`${baseUrl}/api/slow?ms=2600`)),
  },
  {
    name: 'discovery',
    weight: 5,
    expected: [200],
    send: async (baseUrl) => answerOf(await fetch(`${baseUrl}/.well-known/openid-configuration`)),
  },
  {
    name: 'jwks',
    weight: 4,
    expected: [200],
    send: async (baseUrl) => answerOf(await fetch(`${baseUrl}/.well-known/jwks.json`)),
  },
];

/** A deterministic pick by weight (the run is reproducible from its seed). */
export function pickKind(random: () => number): SoakRequestKind {
  const total = SOAK_REQUESTS.reduce((sum, kind) => sum + kind.weight, 0);
  let at = random() * total;
  for (const kind of SOAK_REQUESTS) {
    at -= kind.weight;
    if (at < 0) return kind;
  }
  return SOAK_REQUESTS[0] as SoakRequestKind;
}

/** mulberry32: small, seedable, good enough to shuffle a request mix. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
