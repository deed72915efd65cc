import { createLocalJWKSet, errors, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { jwtHeader, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
const ISSUER = 'https://gateway.test';
let upstream: RunningAuth0Emulator;
let gateway: TestGateway;

interface KeyEntry {
  kid: string;
  alg: string;
  private_key_file: string;
  status: 'next' | 'active' | 'retired';
  publish_until?: string;
}

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: ['read:claims'] } }],
    defaultAudience: API,
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    keys: [{ kid: 'key-1', status: 'active' }],
  });
  await waitFor(() => gateway.instance.readiness().ready, 'readiness');
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function issue(): Promise<string> {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: 'm2m',
    client_secret: 'm2m-secret',
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** What a resource server does: verify against the JWKS scopegate publishes right now. */
async function verifyWithPublishedJwks(token: string) {
  const jwks = (await (
    await fetch(`${gateway.url}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER });
}

async function publishedKids(): Promise<string[]> {
  const jwks = (await (
    await fetch(`${gateway.url}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  return jwks.keys.map((key) => key.kid as string);
}

async function applyKeys(keys: KeyEntry[]): Promise<void> {
  await gateway.writeConfig({ ...gateway.config, signing: { keys } });
  expect(await gateway.instance.reload()).toBe(true);
}

describe('signing key rotation without downtime', () => {
  const key1 = { kid: 'key-1', alg: 'ES256', private_key_file: 'key-1.pem' };
  let key2: { kid: string; alg: string; private_key_file: string };
  let oldToken: string;

  it('step 1: publishes the next key while the current one keeps signing', async () => {
    oldToken = await issue();
    expect(jwtHeader(oldToken).kid).toBe('key-1');
    key2 = {
      kid: 'key-2',
      alg: 'RS256',
      private_key_file: await gateway.addKey({ kid: 'key-2', alg: 'RS256' }),
    };
    await applyKeys([
      { ...key1, status: 'active' },
      { ...key2, status: 'next' },
    ]);
    expect(await publishedKids()).toEqual(['key-1', 'key-2']);
    expect(jwtHeader(await issue()).kid).toBe('key-1');
  });

  it('step 2: signs with the new key; tokens of the retired key still verify', async () => {
    await applyKeys([
      { ...key1, status: 'retired' },
      { ...key2, status: 'active' },
    ]);
    const newToken = await issue();
    expect(jwtHeader(newToken)).toMatchObject({ kid: 'key-2', alg: 'RS256' });
    expect(await publishedKids()).toEqual(['key-1', 'key-2']);
    await expect(verifyWithPublishedJwks(newToken)).resolves.toBeDefined();
    await expect(verifyWithPublishedJwks(oldToken)).resolves.toBeDefined();

    const metrics = await scrape(gateway.adminUrl);
    expect(metrics.value('scopegate_signing_key_info', { kid: 'key-2', status: 'active' })).toBe(1);
    expect(metrics.value('scopegate_signing_key_info', { kid: 'key-1', status: 'retired' })).toBe(
      1,
    );
    expect(metrics.find('scopegate_signing_key_info', { status: 'active' })).toHaveLength(1);
  });

  it('step 3: stops publishing the retired key after publish_until', async () => {
    const soon = new Date(Date.now() + 400).toISOString();
    await applyKeys([
      { ...key1, status: 'retired', publish_until: soon },
      { ...key2, status: 'active' },
    ]);
    expect(await publishedKids()).toEqual(['key-1', 'key-2']);
    await expect(verifyWithPublishedJwks(oldToken)).resolves.toBeDefined();
    // No reload needed: the instant passing is enough.
    await waitFor(async () => (await publishedKids()).length === 1, 'publish_until to pass');
    expect(await publishedKids()).toEqual(['key-2']);
    await expect(verifyWithPublishedJwks(oldToken)).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
    await expect(verifyWithPublishedJwks(await issue())).resolves.toBeDefined();
  });
});
