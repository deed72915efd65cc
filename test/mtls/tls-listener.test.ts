/**
 * scopegate terminating TLS itself (server.tls), end to end in front of the Auth0 emulator: the
 * token endpoint and the reverse proxy over TLS with a client certificate, the certificate and
 * key replaced on disk and put in force without a restart (a broken replacement keeps the old
 * one), the config watcher noticing them, and the client certificate headers of a peer that is
 * not a trusted proxy never reaching the upstream.
 */
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CERTIFICATE_HEADERS } from '../../proxy/http/client-certificate-headers.js';
import { createLogger } from '../../proxy/observability/log.js';
import { ConfigWatcher } from '../../proxy/server/config-watcher.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { LogCapture, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { createMtlsPki, type KeyPair, type MtlsPki } from './mtls-pki.js';

const API = 'https://api.example.com';
let upstream: RunningAuth0Emulator;
let pki: MtlsPki;

beforeAll(async () => {
  pki = await createMtlsPki();
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: ['read:claims'] } }],
    defaultAudience: API,
  });
});

afterAll(async () => {
  await upstream?.close();
  await pki?.remove();
});

interface Answer {
  status: number;
  body: string;
}

/** One request over a new TLS connection that trusts the test CA, optionally with a client certificate. */
function httpsRequest(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; client?: KeyPair },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: pki.ca,
        agent: false,
        headers: options.headers,
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The subject of the certificate the listener presents to a new connection. */
function listenerSubject(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: pki.ca }, () => {
      resolve(socket.getPeerX509Certificate()?.subject ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function startTlsGateway(serverFiles: KeyPair): Promise<TestGateway> {
  return startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    admin: false,
    config: {
      server: {
        watch_config: false,
        tls: {
          cert_file: serverFiles.certFile,
          key_file: serverFiles.keyFile,
          client_ca_file: pki.caFile,
        },
      },
    },
  });
}

describe('the public listener over TLS', () => {
  it('serves the token endpoint and proxies over TLS, a client certificate presented', async () => {
    const gateway = await startTlsGateway(pki.server);
    try {
      expect(gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      await expect(fetch(`${gateway.url.replace('https:', 'http:')}/api/echo`)).rejects.toThrow();
      const token = await httpsRequest(`${gateway.url}/oauth/token`, {
        method: 'POST',
        client: pki.client,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret',
      });
      expect(token.status).toBe(200);
      expect(JSON.parse(token.body)).toMatchObject({ scope: 'read:claims' });
      const echo = await httpsRequest(`${gateway.url}/api/echo`, { client: pki.selfSigned });
      expect(echo.status).toBe(200);
      const { headers } = JSON.parse(echo.body) as { headers: Record<string, string> };
      expect(headers['x-forwarded-proto']).toBe('https');
      // Discovery is not changed by TLS in this phase: nothing about certificate-bound tokens.
      const discovery = await httpsRequest(`${gateway.url}/.well-known/openid-configuration`, {});
      expect(discovery.body).not.toContain('tls_client_certificate_bound_access_tokens');
    } finally {
      await gateway.close();
    }
  });

  it('takes a replaced certificate and key on reload; a broken replacement keeps the old one', async () => {
    // Files of its own, to replace.
    await writeFile(`${pki.dir}/listener.crt`, pki.server.cert);
    await writeFile(`${pki.dir}/listener.key`, pki.server.key);
    const running = await startTlsGateway({
      ...pki.server,
      certFile: `${pki.dir}/listener.crt`,
      keyFile: `${pki.dir}/listener.key`,
    });
    try {
      expect(await listenerSubject(running.url)).toBe('CN=idp.test');
      await writeFile(`${pki.dir}/listener.crt`, pki.rotated.cert);
      await writeFile(`${pki.dir}/listener.key`, pki.rotated.key);
      expect(await running.instance.reload()).toBe(true);
      expect(await listenerSubject(running.url)).toBe('CN=rotated.test');
      expect(running.logs.text()).toContain('TLS certificate of the public listener reloaded');

      // A certificate that does not match the key, then one that is not a certificate.
      await writeFile(`${pki.dir}/listener.crt`, pki.server.cert);
      expect(await running.instance.reload()).toBe(false);
      await writeFile(`${pki.dir}/listener.crt`, 'not a certificate');
      expect(await running.instance.reload()).toBe(false);
      expect(await listenerSubject(running.url)).toBe('CN=rotated.test');
      const failures = running.logs
        .records()
        .filter((record) => record.msg === 'config reload failed; keeping the current config');
      expect(JSON.stringify(failures)).toContain('server.tls.key_file: ');
      expect(JSON.stringify(failures)).toContain('server.tls.cert_file: ');
      expect(running.logs.text()).not.toContain('BEGIN');
    } finally {
      await running.close();
    }
  });
});

describe('the config watcher', () => {
  it('notices a changed certificate, key or client CA file of server.tls', async () => {
    await writeFile(`${pki.dir}/watched.crt`, pki.server.cert);
    await writeFile(`${pki.dir}/watched.key`, pki.server.key);
    await writeFile(`${pki.dir}/watched-ca.crt`, pki.ca);
    const gateway = await startTlsGateway({
      ...pki.server,
      certFile: `${pki.dir}/watched.crt`,
      keyFile: `${pki.dir}/watched.key`,
    });
    let changes = 0;
    const watcher = new ConfigWatcher({
      configFile: gateway.configFile,
      env: {},
      logger: createLogger({ level: 'silent', format: 'json', destination: new LogCapture() }),
      onChange: () => {
        changes += 1;
      },
      pollMs: 3_600_000,
    });
    try {
      await watcher.start();
      await watcher.check();
      expect(changes).toBe(0);
      await writeFile(`${pki.dir}/watched.crt`, pki.rotated.cert);
      await watcher.check();
      expect(changes).toBe(1);
      await writeFile(`${pki.dir}/watched.key`, pki.rotated.key);
      await watcher.check();
      expect(changes).toBe(2);
    } finally {
      watcher.close();
      await gateway.close();
    }
  });
});

describe('client certificate headers towards the upstream', () => {
  const FORGED = Object.fromEntries(CLIENT_CERTIFICATE_HEADERS.map((name) => [name, 'forged']));

  for (const trusted of [false, true]) {
    it(`from ${trusted ? 'a trusted proxy: kept' : 'an untrusted peer: never forwarded'} (proxied and token requests)`, async () => {
      const gateway = await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        admin: false,
        config: {
          server: {
            watch_config: false,
            trusted_proxies: trusted ? ['127.0.0.1'] : [],
            client_certificate_header: { name: 'x-forwarded-client-cert', format: 'xfcc' },
          },
        },
      });
      try {
        const echo = await fetch(`${gateway.url}/api/echo`, { headers: FORGED });
        const proxied = ((await echo.json()) as { headers: Record<string, string> }).headers;
        const token = await postForm(
          `${gateway.url}/oauth/token`,
          { grant_type: 'client_credentials', client_id: 'm2m', client_secret: 'm2m-secret' },
          FORGED,
        );
        expect(token.status).toBe(200);
        const tokenHeaders = upstream.tokenRequests().at(-1)?.headers ?? {};
        for (const name of CLIENT_CERTIFICATE_HEADERS) {
          for (const [route, headers] of Object.entries({ proxied, token: tokenHeaders })) {
            if (trusted) expect(headers[name], `${route} ${name}`).toBe('forged');
            else expect(headers, `${route} ${name}`).not.toHaveProperty(name);
          }
        }
        const ignored = gateway.logs
          .records()
          .filter((record) => String(record.msg).startsWith('client certificate header from'));
        expect(ignored.length).toBe(trusted ? 0 : 2);
      } finally {
        await gateway.close();
      }
    });
  }
});
