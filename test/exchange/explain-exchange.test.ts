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
  - template: "reports.*"
    clients: [worker]
token_exchange:
  enabled: ENABLED
  client_auth: AUTH
  clients:
    - client_id: worker
      secret_hash: "scrypt$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
  retarget:
    - from: https://api.example.com
      to: [https://reports.example.com]
      clients: [worker]
`;

let dir: string;
let enabled: string;
let disabled: string;
let required: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-explain-exchange-'));
  enabled = path.join(dir, 'enabled.yaml');
  disabled = path.join(dir, 'disabled.yaml');
  required = path.join(dir, 'required.yaml');
  const config = (on: string, auth: string) => CONFIG.replace('ENABLED', on).replace('AUTH', auth);
  await writeFile(enabled, config('true', 'optional'));
  await writeFile(disabled, config('false', 'optional'));
  await writeFile(required, config('true', 'required'));
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

  it("sees the client the exchange endpoint would: the authenticated one, else the subject's", async () => {
    const ask = (config: string, client?: string) =>
      explain({
        config,
        grant: EXCHANGE_GRANT,
        granted: 'reports.daily',
        requested: 'reports.daily',
        ...(client === undefined ? {} : { client }),
      });
    const worker = await ask(enabled, 'worker');
    expect(worker.code).toBe(0);
    expect(worker.stdout).toContain(
      "client worker: listed in token_exchange.clients: when it authenticates, policies see it and the token's client_id is worker",
    );
    const subjectClient = await ask(enabled, 'web-app');
    expect(subjectClient.code).toBe(3);
    expect(subjectClient.stdout).toContain(
      "client web-app: not in token_exchange.clients: stands for the subject token's client in an unauthenticated exchange",
    );
    expect(subjectClient.stdout).toMatch(/DENY {2}reports\.daily {2}\(policy\)/);
    const nobody = await ask(enabled);
    expect(nobody.code).toBe(3);
    expect(nobody.stdout).toContain('client (none): an unauthenticated exchange');
    const refused = await ask(required, 'web-app');
    expect(refused.stdout).toContain(
      'client web-app: not an authenticated exchange client, and client_auth is required: such an exchange is refused (401 invalid_client)',
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
