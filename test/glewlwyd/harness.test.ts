/**
 * The glewlwyd harness itself: a port taken between the free-port probe and glewlwyd's bind is
 * retried on another (and a stranger answering on the taken port is not mistaken for glewlwyd),
 * stop ends the process and removes its directory, and a machine without glewlwyd gets an error
 * that says what to install instead of a skipped test.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGlewlwyd } from '../fixtures/glewlwyd/installation.js';
import {
  GLEWLWYD_ADMIN,
  type GlewlwydServer,
  startGlewlwydServer,
} from '../fixtures/glewlwyd/server.js';
import { freeLoopbackPort } from '../support/free-port.js';

let stranger: Server;
let takenPort: number;

beforeAll(async () => {
  // Answers anything with 200 and a session cookie of another name, like another glewlwyd.
  stranger = createServer((_request, response) => {
    response.setHeader('set-cookie', 'GLEWLWYD2_SESSION_ID=someone-else; Path=/');
    response.end();
  });
  await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
  const address = stranger.address();
  takenPort = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise<void>((resolve) => stranger.close(() => resolve()));
});

describe('the glewlwyd harness', () => {
  it('retries on another port when the first is taken, and stops cleanly', async () => {
    const ports = [takenPort];
    let asked = 0;
    const server: GlewlwydServer = await startGlewlwydServer({
      nextPort: async () => {
        asked += 1;
        return ports.shift() ?? freeLoopbackPort();
      },
    });
    try {
      expect(asked).toBe(2);
      expect(server.port).not.toBe(takenPort);
      // Only a failed bind is retried (anything else throws): the first attempt hit the stranger.
      const login = await fetch(`${server.url}/api/auth/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(GLEWLWYD_ADMIN),
      });
      expect(login.status).toBe(200);
      expect(login.headers.getSetCookie()[0]?.startsWith(`${server.sessionKey}=`)).toBe(true);
      expect(existsSync(server.dir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
    await expect(fetch(`${server.url}/api/auth/`)).rejects.toThrow();
  });

  it('names the package to install when glewlwyd is missing', () => {
    expect(() => findGlewlwyd(['/nonexistent'])).toThrow(
      'glewlwyd is not installed: install it with: apt-get install -y glewlwyd',
    );
  });
});
