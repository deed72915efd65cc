/**
 * A JWKS endpoint under the test's control: which keys it publishes, whether it answers, how
 * slowly, and how often it was asked. For the upstream keys cache tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export interface TestJwk {
  kid: string;
  jwk: JWK;
}

export interface JwksServer {
  url: URL;
  requests(): number;
  setKeys(keys: readonly JWK[]): void;
  setAvailable(up: boolean): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function newPublicJwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256');
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
}

export async function startJwksServer(initial: readonly JWK[]): Promise<JwksServer> {
  let keys = [...initial];
  let up = true;
  let delayMs = 0;
  let count = 0;
  const server = createServer((_req, res) => {
    count++;
    setTimeout(() => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/jwks.json`),
    requests: () => count,
    setKeys(next) {
      keys = [...next];
    },
    setAvailable(next) {
      up = next;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
