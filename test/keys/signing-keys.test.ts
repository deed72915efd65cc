import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../config/load.js';
import { loadSigningKeys } from '../../proxy/keys/signing-keys.js';
import { createLogger } from '../../proxy/observability/log.js';
import { startScopegate } from '../../proxy/server/instance.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { LogCapture, startTestGateway, type TestGateway } from '../support/gateway.js';

let upstream: RunningAuth0Emulator;

beforeAll(async () => {
  upstream = await startAuth0Emulator({ clients: [] });
});

afterAll(async () => {
  await upstream?.close();
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

async function jwksText(url: string): Promise<string> {
  const response = await fetch(`${url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('publish_until', () => {
  it('drops a retired key from the JWKS at the instant, not before', async () => {
    const gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      keys: [
        { kid: 'new', status: 'active' },
        { kid: 'old', status: 'retired', publish_until: '2030-01-01T00:00:00Z' },
      ],
    });
    try {
      const set = gateway.instance.runtime().signingKeys;
      const until = Date.parse('2030-01-01T00:00:00Z');
      expect(set.jwks(until - 1).keys.map((key) => key.kid)).toEqual(['new', 'old']);
      expect(set.jwks(until).keys.map((key) => key.kid)).toEqual(['new']);
      // Served now (before the instant): both.
      const served = JSON.parse(await jwksText(gateway.url)) as { keys: Array<{ kid: string }> };
      expect(served.keys.map((key) => key.kid)).toEqual(['new', 'old']);
    } finally {
      await gateway.close();
    }
  });

  it('no longer serves a retired key whose publish_until has passed', async () => {
    const gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      keys: [
        { kid: 'current', status: 'active' },
        { kid: 'expired', status: 'retired', publish_until: '2001-01-01T00:00:00Z' },
        { kid: 'upcoming', status: 'next' },
      ],
    });
    try {
      const served = JSON.parse(await jwksText(gateway.url)) as { keys: Array<{ kid: string }> };
      expect(served.keys.map((key) => key.kid)).toEqual(['current', 'upcoming']);
    } finally {
      await gateway.close();
    }
  });
});

describe('the same key files publish the same JWKS', () => {
  let first: TestGateway;

  beforeAll(async () => {
    first = await startTestGateway({
      upstreamUrl: upstream.url,
      keys: [
        { kid: 'k-2026-11', status: 'active', alg: 'ES256' },
        { kid: 'k-2027-01', status: 'next', alg: 'RS256' },
        { kid: 'k-2026-09', status: 'retired', alg: 'EdDSA' },
      ],
    });
  });

  afterAll(async () => {
    await first?.close();
  });

  it('two instances on the same config and key files serve byte-identical JWKS', async () => {
    const logs = new LogCapture();
    const second = await startScopegate({
      configFile: first.configFile,
      env: {},
      logger: createLogger({ level: 'warn', format: 'json', destination: logs }),
    });
    try {
      const a = await jwksText(first.url);
      const b = await jwksText(second.publicUrl);
      expect(b).toBe(a);
      const jwks = JSON.parse(a) as { keys: Array<Record<string, unknown>> };
      expect(jwks.keys.map((key) => key.kid)).toEqual(['k-2026-11', 'k-2027-01', 'k-2026-09']);
      for (const key of jwks.keys) {
        expect(key.use).toBe('sig');
        for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
      }
    } finally {
      await second.shutdown();
    }
  });

  it('does not depend on the key statuses (replicas on both sides of a rotation rollout)', async () => {
    // The next step of a rotation: k-2027-01 active, k-2026-11 retired.
    const config = structuredClone(first.config) as {
      signing: { keys: Array<Record<string, unknown>> };
    };
    const byKid = new Map(config.signing.keys.map((key) => [key.kid as string, key]));
    config.signing.keys = [
      { ...byKid.get('k-2026-11'), status: 'retired' },
      { ...byKid.get('k-2027-01'), status: 'active' },
      { ...byKid.get('k-2026-09'), status: 'retired' },
    ];
    const rolledFile = path.join(first.dir, 'rolled.yaml');
    await writeFile(rolledFile, stringify(config));
    const loaded = await loadConfigFile(rolledFile, {});
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const rolled = await loadSigningKeys(loaded.loaded.config.signing.keys, rolledFile);
    expect(rolled.active.kid).toBe('k-2027-01');
    expect(JSON.stringify(rolled.jwks())).toBe(await jwksText(first.url));
  });
});
