/**
 * `scopegate explain --grant urn:ietf:params:oauth:grant-type:token-exchange`: the decision an
 * exchange gets (policies with the exchange grant type), what the granted scopes stand for, the
 * retarget rules, and that the upstream is not asked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../proxy/cli/explain.js';
import { EXCHANGE_GRANT } from './exchange-support.js';

const CONFIG = `issuer: https://auth.example.com
upstream:
  url: https://tenant.example.com
signing:
  keys:
    - kid: k1
      alg: ES256
      private_key_file: not-needed-to-explain.pem
scopes:
  - template: "accounts.*.*"
    grant_types: [client_credentials]
token_exchange:
  enabled: ENABLED
  retarget:
    - from: https://api.example.com
      to: [https://reports.example.com]
      clients: [worker]
`;

let dir: string;
let enabled: string;
let disabled: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-explain-exchange-'));
  enabled = path.join(dir, 'enabled.yaml');
  disabled = path.join(dir, 'disabled.yaml');
  await writeFile(enabled, CONFIG.replace('ENABLED', 'true'));
  await writeFile(disabled, CONFIG.replace('ENABLED', 'false'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('explain for token exchange', () => {
  it('applies policies with the exchange grant and names what scopegate does itself', async () => {
    const output = await explain({
      config: enabled,
      grant: EXCHANGE_GRANT,
      granted: 'accounts.* read:claims',
      requested: 'accounts.read.1234 read:claims',
    });
    expect(output.code).toBe(3);
    expect(output.stdout).toContain("--granted stands for the subject token's scopes");
    expect(output.stdout).toContain(
      'retarget: https://api.example.com -> https://reports.example.com (clients worker)',
    );
    expect(output.stdout).toMatch(/DENY {2}accounts\.read\.1234 {2}\(policy\)/);
    expect(output.stdout).toContain('ALLOW read:claims');
    expect(output.stdout).toContain(
      'upstream asked for: nothing (scopegate answers token exchange itself)',
    );
  });

  it('says when exchange is forwarded to the upstream instead', async () => {
    const output = await explain({
      config: disabled,
      grant: EXCHANGE_GRANT,
      granted: 'read:claims',
      requested: 'read:claims',
    });
    expect(output.code).toBe(0);
    expect(output.stdout).toContain('token exchange: disabled');
    expect(output.stdout).toContain('upstream asked for (scope_request forward): "read:claims"');
  });
});
