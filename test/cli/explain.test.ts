import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExplainArgs, explain } from '../../proxy/cli/explain.js';

const CONFIG = `issuer: https://auth.example.com
upstream:
  url: https://tenant.example.com
  scope_request: templates
signing:
  keys:
    - kid: k1
      alg: ES256
      private_key_file: not-needed-to-explain.pem
tokens:
  on_unauthorized_scope: ON_UNAUTHORIZED
scopes:
  - template: "accounts.*.*"
    grant_types: [client_credentials]
    params:
      - enum: [read, list]
      - pattern: "^[0-9]{1,12}$"
  - template: "tenants.*"
    params:
      - claim: tenant_ids
  - template: "admin.*"
    clients: [ops-console]
`;

let dir: string;
let rejectConfig: string;
let dropConfig: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-explain-'));
  rejectConfig = path.join(dir, 'reject.yaml');
  dropConfig = path.join(dir, 'drop.yaml');
  await writeFile(rejectConfig, CONFIG.replace('ON_UNAUTHORIZED', 'reject'));
  await writeFile(dropConfig, CONFIG.replace('ON_UNAUTHORIZED', 'drop'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (): ExplainArgs => ({
  config: rejectConfig,
  client: 'partner-x',
  grant: 'client_credentials',
  granted: 'accounts.* tenants.* admin.* read:claims',
  claims: '{"tenant_ids":["t-42","t-7"]}',
});

describe('scopegate explain', () => {
  it('explains every requested scope: covering template, parameters, each policy check', async () => {
    const output = await explain({
      ...base(),
      requested: 'accounts.read.1234 accounts.write.1234 tenants.t-99 admin.users reports.daily',
    });
    expect(output.code).toBe(3);
    expect(output.stderr).toBe('');
    const text = output.stdout;
    expect(text).toContain('ALLOW accounts.read.1234');
    expect(text).toContain('covered by granted template accounts.*, params ["read.1234"]');
    expect(text).toContain('policy accounts.*.*, params ["read","1234"]: passed');
    expect(text).toContain('DENY  accounts.write.1234  (policy)');
    expect(text).toContain('FAIL params[0].enum [read, list]: "write" is not one of the values');
    expect(text).toContain(
      `FAIL params[0].claim tenant_ids: "t-99" is not in the token's "tenant_ids" claim`,
    );
    expect(text).toContain('FAIL clients: client partner-x is not allowed');
    expect(text).toContain('DENY  reports.daily  (not granted)');
    expect(text).toContain(
      'result: 400 invalid_scope "the requested scope is not permitted: accounts.write.1234 tenants.t-99 admin.users reports.daily"',
    );
    expect(text).toContain(
      'with on_unauthorized_scope: drop the token would carry "accounts.read.1234"',
    );
    expect(text).toContain(
      'upstream asked for (scope_request templates): "accounts.*.* tenants.* admin.* reports.daily"',
    );
  });

  it('says which scope the token carries when refused scopes are dropped', async () => {
    const output = await explain({
      ...base(),
      config: dropConfig,
      requested: 'accounts.list.7 tenants.t-7 admin.users',
    });
    expect(output.stdout).toContain('result: token scope "accounts.list.7 tenants.t-7"');
    expect(output.stdout).toContain('dropped: admin.users');
  });

  it('explains the same scope allowed for a machine client and refused for a human one', async () => {
    const machine = await explain({ ...base(), requested: 'accounts.read.1' });
    expect(machine.stdout).toContain('result: token scope "accounts.read.1"');
    const human = await explain({
      ...base(),
      grant: 'authorization_code',
      requested: 'accounts.read.1',
    });
    expect(human.stdout).toContain(
      'FAIL grant_types [client_credentials]: grant type authorization_code is not allowed',
    );
    expect(human.stdout).toMatch(/result: 400 invalid_scope/);
  });

  it('explains a request for nothing: every granted scope, minus what policies withhold', async () => {
    const output = await explain({ ...base(), granted: 'accounts.* admin.* read:claims' });
    expect(output.stdout).toContain('nothing requested: every granted scope is considered');
    expect(output.stdout).toContain('DENY  accounts.*  (policy)');
    expect(output.stdout).toContain('parameters unknown (the scope is broader)');
    expect(output.stdout).toContain('result: token scope "read:claims"');
    expect(output.stdout).toContain('withheld by policy: accounts.* admin.*');
    expect(output.stdout).toContain(
      'upstream asked for (scope_request templates): (no scope parameter)',
    );
  });

  it('prints the decision as JSON', async () => {
    const output = await explain({ ...base(), requested: 'accounts.read.1 reports.x', json: true });
    const body = JSON.parse(output.stdout) as Record<string, unknown>;
    expect(body.issued).toEqual(['accounts.read.1']);
    expect(body.upstream_scope).toBe('accounts.*.* reports.x');
    expect((body.refused as Array<{ scope: string }>)[0]?.scope).toBe('reports.x');
  });

  it.each<[Partial<ExplainArgs>, RegExp, number]>([
    [{ config: undefined }, /--config FILE is required/, 2],
    [{ grant: undefined }, /--grant TYPE is required/, 2],
    [{ granted: undefined }, /--granted "..." is required/, 2],
    [{ claims: '{not json' }, /--claims is not valid JSON/, 2],
    [{ claims: '[1]' }, /--claims must be a JSON object/, 2],
    [{ requested: 'a "b"' }, /--requested: scope contains a character/, 2],
    [{ grant: 'bogus' }, /--grant must be one of: client_credentials, authorization_code/, 2],
    [{ config: '/nonexistent/scopegate.yaml' }, /cannot read the config file/, 1],
  ])('fails clearly on bad arguments %#', async (change, message, code) => {
    const output = await explain({ ...base(), requested: 'x', ...change });
    expect(output.code).toBe(code);
    expect(output.stdout).toBe('');
    expect(output.stderr).toMatch(message);
  });

  it.each<[string, Partial<ExplainArgs>, number]>([
    ['everything requested is allowed', { requested: 'accounts.read.1 tenants.t-7' }, 0],
    ['nothing requested, some withheld by policy', { granted: 'accounts.* read:claims' }, 0],
    ['a requested scope is refused', { requested: 'accounts.read.1 reports.x' }, 3],
    ['a requested scope is dropped', { config: 'drop', requested: 'accounts.read.1 admin.x' }, 3],
    ['a JSON answer with a refusal', { requested: 'reports.x', json: true }, 3],
    ['everything refused', { requested: 'admin.users' }, 3],
  ])('exits by the verdict: %s', async (_what, change, code) => {
    const config = change.config === 'drop' ? dropConfig : rejectConfig;
    const output = await explain({ ...base(), ...change, config });
    expect(output.stderr).toBe('');
    expect(output.code).toBe(code);
  });

  it('says when the token would carry the scope as a JSON array, and which rule chose it', async () => {
    const arrays = path.join(dir, 'arrays.yaml');
    await writeFile(
      arrays,
      `${CONFIG.replace('ON_UNAUTHORIZED', 'reject')}clients:
  - client_id: other
    scope_format: string
  - client_id: partner-x
    audience: https://partner-api
    scope_format: array
`,
    );
    const args = { ...base(), config: arrays, requested: 'accounts.read.1 tenants.t-7' };
    const withAudience = await explain({ ...args, audience: 'https://partner-api' });
    expect(withAudience.stdout).toContain(
      'scope claim: JSON array ["accounts.read.1","tenants.t-7"] (clients[1], client partner-x)',
    );
    const json = await explain({ ...args, audience: 'https://partner-api', json: true });
    expect(JSON.parse(json.stdout)).toMatchObject({ scope_format: 'array' });
    const elsewhere = await explain(args);
    expect(elsewhere.stdout).toContain(
      'scope claim: string "accounts.read.1 tenants.t-7" (tokens.scope_format)',
    );
    const refusedAll = await explain({ ...args, requested: 'reports.x' });
    expect(refusedAll.stdout).not.toContain('scope claim:');
  });

  it('refuses a config with a malformed template', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(
      bad,
      CONFIG.replace('ON_UNAUTHORIZED', 'reject').replace('"admin.*"', '"adm*"'),
    );
    const output = await explain({ ...base(), config: bad, requested: 'x' });
    expect(output.code).toBe(1);
    expect(output.stderr).toContain('scopes[2].template: a * must be a whole segment');
  });
});
