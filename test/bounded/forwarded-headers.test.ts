/**
 * Forwarding headers (X-Forwarded-*, Forwarded, X-Real-IP, X-Client-IP, True-Client-IP): a
 * client's own are dropped and rebuilt from the connection and the issuer's host (never from the
 * client's Host header); only a peer listed in
 * `server.trusted_proxies` is believed. Checked on both ways a request reaches the upstream: the
 * reverse proxy and the token request scopegate makes itself, against the Auth0 emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { TrustedProxies } from '../../proxy/http/trusted-proxies.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { exchange } from '../support/raw-exchange.js';

const API = 'https://api.example.com';
const SPOOFED = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': '/evil',
  'x-real-ip': '6.6.6.6',
  'x-client-ip': '6.6.6.6',
  'true-client-ip': '6.6.6.6',
  forwarded: 'for=6.6.6.6;proto=https',
};
const ONLY_FROM_PROXIES = [
  'forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
];

let upstream: RunningAuth0Emulator;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: ['read:claims'] } }],
    defaultAudience: API,
  });
});

afterAll(async () => {
  await upstream?.close();
});

type Headers = Record<string, string | string[] | undefined>;

/** What the upstream received for a proxied request and for a token request. */
async function upstreamSaw(gateway: TestGateway): Promise<{ proxied: Headers; token: Headers }> {
  const echo = await fetch(`${gateway.url}/api/echo`, { headers: SPOOFED });
  expect(echo.status).toBe(200);
  const proxied = ((await echo.json()) as { headers: Headers }).headers;
  const token = await postForm(
    `${gateway.url}/oauth/token`,
    { grant_type: 'client_credentials', client_id: 'm2m', client_secret: 'm2m-secret' },
    SPOOFED,
  );
  expect(token.status).toBe(200);
  return { proxied, token: upstream.tokenRequests().at(-1)?.headers ?? {} };
}

describe('server.trusted_proxies', () => {
  const cases: Array<{
    name: string;
    listen: string;
    trusted: string[];
    believed: boolean;
    peer: string;
  }> = [
    { name: 'no list', listen: '127.0.0.1:0', trusted: [], believed: false, peer: '127.0.0.1' },
    {
      name: 'a list without the peer',
      listen: '127.0.0.1:0',
      trusted: ['10.0.0.0/8', 'fd00::/8'],
      believed: false,
      peer: '127.0.0.1',
    },
    {
      name: 'the peer as an address',
      listen: '127.0.0.1:0',
      trusted: ['127.0.0.1'],
      believed: true,
      peer: '127.0.0.1',
    },
    {
      name: 'the peer in an IPv4 CIDR',
      listen: '127.0.0.1:0',
      trusted: ['10.0.0.0/8', '127.0.0.0/8'],
      believed: true,
      peer: '127.0.0.1',
    },
    {
      name: 'an IPv6 peer in an IPv6 CIDR',
      listen: '[::1]:0',
      trusted: ['::1/128'],
      believed: true,
      peer: '::1',
    },
    {
      name: 'an IPv6 peer and only IPv4 entries',
      listen: '[::1]:0',
      trusted: ['127.0.0.0/8'],
      believed: false,
      peer: '::1',
    },
  ];

  for (const { name, listen, trusted, believed, peer } of cases) {
    it(`${name}: ${believed ? 'kept and extended' : 'dropped and rebuilt from the connection'}`, async () => {
      const gateway = await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        admin: false,
        config: { listen, server: { watch_config: false, trusted_proxies: trusted } },
      });
      try {
        // Not the Host the client sent: the host of the configured issuer.
        const host = 'gateway.test';
        const seen = await upstreamSaw(gateway);
        for (const [route, headers] of Object.entries(seen)) {
          if (believed) {
            expect(headers['x-forwarded-for'], route).toBe(`6.6.6.6, ${peer}`);
            expect(headers['x-forwarded-proto'], route).toBe('https');
            expect(headers['x-forwarded-host'], route).toBe('evil.example');
            const node = peer.includes(':') ? `"[${peer}]"` : peer;
            expect(headers.forwarded, route).toBe(`for=6.6.6.6;proto=https, for=${node}`);
            for (const kept of ONLY_FROM_PROXIES.filter((h) => h !== 'forwarded')) {
              expect(headers[kept], `${route} ${kept}`).toBe(SPOOFED[kept as keyof typeof SPOOFED]);
            }
          } else {
            expect(headers['x-forwarded-for'], route).toBe(peer);
            expect(headers['x-forwarded-proto'], route).toBe('http');
            expect(headers['x-forwarded-host'], route).toBe(host);
            for (const dropped of ONLY_FROM_PROXIES) {
              expect(headers, `${route} ${dropped}`).not.toHaveProperty(dropped);
            }
          }
        }
      } finally {
        await gateway.close();
      }
    });
  }

  it('a trusted proxy that sends no forwarding headers gets them from the connection', async () => {
    const gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      admin: false,
      config: { server: { watch_config: false, trusted_proxies: ['127.0.0.1'] } },
    });
    try {
      const echo = await fetch(`${gateway.url}/api/echo`);
      const { headers } = (await echo.json()) as { headers: Headers };
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers['x-forwarded-proto']).toBe('http');
      expect(headers['x-forwarded-host']).toBe('gateway.test');
      expect(headers).not.toHaveProperty('forwarded');
    } finally {
      await gateway.close();
    }
  });
});

describe('the Host header', () => {
  it("from an untrusted peer never becomes X-Forwarded-Host: the issuer's host does", async () => {
    const gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      admin: false,
      config: { server: { watch_config: false, trusted_proxies: [] } },
    });
    try {
      const echo = await exchange(`${gateway.url}/api/echo`, { headers: { host: 'evil.example' } });
      const { headers } = JSON.parse(echo.body.toString('utf8')) as { headers: Headers };
      expect(headers['x-forwarded-host']).toBe('gateway.test');
      const token = await exchange(`${gateway.url}/oauth/token`, {
        method: 'POST',
        headers: { host: 'evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret',
      });
      expect(token.status).toBe(200);
      expect(upstream.tokenRequests().at(-1)?.headers['x-forwarded-host']).toBe('gateway.test');
    } finally {
      await gateway.close();
    }
  });
});

describe('TrustedProxies', () => {
  const table: Array<[entries: string[], peer: string | undefined, trusted: boolean]> = [
    [[], '127.0.0.1', false],
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['10.0.0.0/8'], '10.255.1.2', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['10.0.0.0/8'], '::ffff:11.1.2.3', false],
    [['2001:db8::/32'], '2001:db8:1::5', true],
    [['2001:db8::/32'], '2001:db9::5', false],
    [['::1'], '::1', true],
    [['::1'], '127.0.0.1', false],
    [['127.0.0.1'], undefined, false],
    [['127.0.0.1'], 'not-an-address', false],
  ];
  for (const [entries, peer, trusted] of table) {
    it(`${JSON.stringify(entries)} ${trusted ? 'trusts' : 'does not trust'} ${peer}`, () => {
      expect(new TrustedProxies(entries).trusts(peer)).toBe(trusted);
    });
  }

  it('refuses entries that are neither addresses nor CIDRs', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/8/8', '']) {
      expect(() => new TrustedProxies([bad]), bad).toThrow(/trusted_proxies/);
    }
  });
});

describe('server.trusted_proxies in the configuration', () => {
  const base = [
    'issuer: https://gateway.test',
    'upstream: { url: "https://idp.test" }',
    'signing: { keys: [{ kid: k, alg: ES256, private_key: x }] }',
  ];
  it('names the path of an entry that is not an address or CIDR', () => {
    const text = [...base, 'server:', '  trusted_proxies: ["10.0.0.0/8", "proxy.local"]'].join(
      '\n',
    );
    const result = parseConfigText(text, 'scopegate.yaml', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toMatch(/server\.trusted_proxies\[1\].*address or CIDR/);
  });

  it('accepts IPv4 and IPv6 addresses and CIDRs', () => {
    const text = [...base, 'server:', '  trusted_proxies: ["10.0.0.0/8", "::1", "fd00::/8"]'].join(
      '\n',
    );
    const result = parseConfigText(text, 'scopegate.yaml', {});
    expect(result.ok ? result.config.server.trusted_proxies : result.errors).toEqual([
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
  });
});
