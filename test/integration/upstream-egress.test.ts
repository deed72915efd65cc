/**
 * Reaching the upstream the way enterprise deployments do, with real parts: node-oidc-provider
 * served over HTTPS by a private CA made for the run, Debian's tinyproxy as the egress proxy.
 * Every upstream call (discovery, JWKS, token, the reverse-proxied path) goes through the proxy
 * named by HTTPS_PROXY or upstream.proxy, NO_PROXY bypasses it, a dead proxy is a prompt 502;
 * an upstream that demands a client certificate is reached with upstream.tls and refused, with
 * the TLS failure named in the log, without it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import { closedPortUrl } from '../support/closed-port.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { createPrivateCa, type PrivateCa } from '../support/private-ca.js';
import { startTinyproxy, type TestForwardProxy } from '../support/tinyproxy.js';
import { waitFor } from '../support/wait.js';

const CC = { authorization: `Basic ${Buffer.from('cc-client:cc-secret').toString('base64')}` };
const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
];

let dir: string;
let ca: PrivateCa;
let upstream: OidcUpstream;
let mutualUpstream: OidcUpstream;
let tinyproxy: TestForwardProxy;
const gateways: TestGateway[] = [];
const savedEnvironment = new Map<string, string | undefined>();

beforeAll(async () => {
  for (const name of PROXY_VARIABLES) savedEnvironment.set(name, process.env[name]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-egress-'));
  ca = await createPrivateCa(dir);
  [upstream, mutualUpstream, tinyproxy] = await Promise.all([
    startOidcUpstream({ tls: { cert: ca.serverCert, key: ca.serverKey } }),
    startOidcUpstream({
      tls: {
        cert: ca.serverCert,
        key: ca.serverKey,
        ca: ca.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
    }),
    startTinyproxy(),
  ]);
});

/** Each test states the proxy variables it needs; none leak into the next. */
afterEach(async () => {
  for (const [name, value] of savedEnvironment) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

afterAll(async () => {
  await Promise.all([upstream?.close(), mutualUpstream?.close(), tinyproxy?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function proxyEnvironment(values: Record<string, string>): void {
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}

async function gatewayFor(target: OidcUpstream, upstreamSettings: Record<string, unknown>) {
  const gateway = await startTestGateway({
    upstreamUrl: target.url,
    tokenPath: target.tokenPath,
    config: { upstream: upstreamSettings },
  });
  gateways.push(gateway);
  return gateway;
}

async function token(gateway: TestGateway, target: OidcUpstream) {
  const response = await postForm(
    `${gateway.url}${target.tokenPath}`,
    { grant_type: 'client_credentials', scope: 'api:read' },
    CC,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const ready = async (gateway: TestGateway) => (await fetch(`${gateway.adminUrl}/readyz`)).status;

describe('an egress proxy in front of an HTTPS upstream on a private CA', () => {
  it('with HTTPS_PROXY set, every upstream connection is a CONNECT tunnel through the proxy', async () => {
    proxyEnvironment({ HTTPS_PROXY: tinyproxy.url });
    const before = (await tinyproxy.requests()).length;
    const connectionsBefore = upstream.connections();
    const gateway = await gatewayFor(upstream, { tls: { ca_file: ca.caFile } });
    await waitFor(async () => (await ready(gateway)) === 200, 'readiness through the proxy');

    const answer = await token(gateway, upstream);
    expect(answer.status).toBe(200);
    expect(answer.body.access_token).toEqual(expect.any(String));
    // The reverse-proxied path too: the upstream's own answer, not a gateway 502.
    const userinfo = await fetch(`${gateway.url}/me`);
    expect(userinfo.status).toBe(401);
    expect(userinfo.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const tunnels = (await tinyproxy.requests()).slice(before);
    const upstreamHost = new URL(upstream.url).host;
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels.every((line) => line === `CONNECT ${upstreamHost} HTTP/1.1`)).toBe(true);
    // Every connection the upstream accepted is one the proxy opened: nothing went around it.
    expect(upstream.connections() - connectionsBefore).toBe(tunnels.length);
    // Tunnels are pooled like any keep-alive connection: more token requests, no new tunnel.
    for (let i = 0; i < 5; i += 1) expect((await token(gateway, upstream)).status).toBe(200);
    expect((await tinyproxy.requests()).length - before).toBe(tunnels.length);
  });

  it('NO_PROXY bypasses the proxy', async () => {
    proxyEnvironment({ HTTPS_PROXY: tinyproxy.url, NO_PROXY: 'localhost,127.0.0.1' });
    const before = (await tinyproxy.requests()).length;
    const connectionsBefore = upstream.connections();
    const gateway = await gatewayFor(upstream, { tls: { ca_file: ca.caFile } });
    expect((await token(gateway, upstream)).status).toBe(200);
    expect(upstream.connections()).toBeGreaterThan(connectionsBefore);
    expect((await tinyproxy.requests()).length).toBe(before);
  });

  it('upstream.proxy overrides the environment, and its credentials are never logged', async () => {
    proxyEnvironment({ HTTPS_PROXY: await closedPortUrl() });
    const before = (await tinyproxy.requests()).length;
    const withCredentials = new URL(tinyproxy.url);
    withCredentials.username = 'egress-user';
    withCredentials.password = 'egress-pass-0451';
    const gateway = await gatewayFor(upstream, {
      proxy: withCredentials.href,
      tls: { ca_file: ca.caFile },
    });
    expect((await token(gateway, upstream)).status).toBe(200);
    expect((await tinyproxy.requests()).length).toBeGreaterThan(before);
    expect(gateway.logs.text()).not.toContain('egress-pass-0451');
  });

  it('a dead proxy is a prompt 502 with an OAuth error and a failed readiness, not a hang', async () => {
    proxyEnvironment({});
    const gateway = await gatewayFor(upstream, {
      proxy: await closedPortUrl(),
      tls: { ca_file: ca.caFile },
    });
    const answer = await token(gateway, upstream);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'temporarily_unavailable' });
    const proxied = await fetch(`${gateway.url}/me`);
    expect(proxied.status).toBe(502);
    expect(await proxied.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(await ready(gateway)).toBe(503);
    expect(gateway.logs.text()).toContain('upstream unreachable (ECONNREFUSED)');
  });
});

describe('a proxy that refuses the tunnel', () => {
  it("is a 502 with an OAuth error naming nothing of the proxy's page; the log has its status", async () => {
    proxyEnvironment({});
    const refusing = await startTinyproxy({ connectPorts: [443] });
    try {
      const gateway = await gatewayFor(upstream, {
        proxy: refusing.url,
        tls: { ca_file: ca.caFile },
      });
      const answer = await token(gateway, upstream);
      expect(answer.status).toBe(502);
      expect(answer.body).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'the upstream token endpoint is unreachable',
      });
      expect(gateway.logs.text()).toContain('upstream unreachable (PROXY_CONNECT_403)');
    } finally {
      await refusing.stop();
    }
  });
});

describe('an upstream that requires a client certificate (mutual TLS, private CA)', () => {
  it('with ca_file and a client certificate, scopegate gets tokens', async () => {
    proxyEnvironment({});
    const gateway = await gatewayFor(mutualUpstream, {
      tls: { ca_file: ca.caFile, cert_file: ca.clientCertFile, key_file: ca.clientKeyFile },
    });
    const answer = await token(gateway, mutualUpstream);
    expect(answer.status).toBe(200);
    expect(answer.body.access_token).toEqual(expect.any(String));
  });

  it('without the client certificate: a 502 OAuth error, and the log names the TLS failure', async () => {
    proxyEnvironment({});
    const gateway = await gatewayFor(mutualUpstream, { tls: { ca_file: ca.caFile } });
    const answer = await token(gateway, mutualUpstream);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({
      error: 'temporarily_unavailable',
      error_description: 'the upstream token endpoint is unreachable',
    });
    expect(gateway.logs.text()).toMatch(/upstream TLS handshake failed \(ERR_SSL_[A-Z0-9_]+\)/);
  });

  it('a reload reads the files again: the client certificate added, tokens flow', async () => {
    proxyEnvironment({});
    const gateway = await gatewayFor(mutualUpstream, { tls: { ca_file: ca.caFile } });
    expect((await token(gateway, mutualUpstream)).status).toBe(502);
    const upstreamConfig = gateway.config.upstream as Record<string, unknown>;
    await gateway.writeConfig({
      ...gateway.config,
      upstream: {
        ...upstreamConfig,
        tls: { ca_file: ca.caFile, cert_file: ca.clientCertFile, key_file: ca.clientKeyFile },
      },
    });
    expect(await gateway.instance.reload()).toBe(true);
    expect((await token(gateway, mutualUpstream)).status).toBe(200);
  });

  it("without the private CA: a 502 OAuth error, and the log names the upstream's certificate", async () => {
    proxyEnvironment({});
    const gateway = await gatewayFor(mutualUpstream, {
      tls: { cert_file: ca.clientCertFile, key_file: ca.clientKeyFile },
    });
    const answer = await token(gateway, mutualUpstream);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'temporarily_unavailable' });
    expect(gateway.logs.text()).toMatch(
      /upstream TLS handshake failed \((?:UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)/,
    );
  });
});
