/**
 * Step "decide": identity from the verified upstream token (not the request), requested ∩
 * granted ∩ policies, refusals by `on_unauthorized_scope`, and what is counted as removed.
 */
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/defaults.js';
import { parseConfigText } from '../../config/load.js';
import { decideScopes, identify } from '../../proxy/endpoints/token/decide-scopes.js';
import type { TokenRequest } from '../../proxy/endpoints/token/token-request.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { Metrics } from '../../proxy/observability/metrics.js';
import type { Runtime } from '../../proxy/runtime/runtime.js';
import { ScopeDecider } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const CLIENT_ID_CLAIMS = DEFAULTS.tokens.client_id_claims;

function runtimeFor(onUnauthorized: 'reject' | 'drop'): Runtime {
  const parsed = parseConfigText(
    `issuer: "https://auth.example.com"
upstream:
  url: "https://tenant.example.com"
signing:
  keys:
    - { kid: k1, alg: ES256, private_key_file: unused.pem }
tokens:
  on_unauthorized_scope: ${onUnauthorized}
scopes:
  - template: "admin.*"
    clients: [ops-console]
`,
    'cfg.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const config = parsed.config;
  // decideScopes reads only these two members of a runtime generation.
  const partial: Pick<Runtime, 'config' | 'decider'> = {
    config,
    decider: new ScopeDecider(new ScopePolicies(config.scopes)),
  };
  return partial as Runtime;
}

function request(
  scopes: string[] | undefined,
  overrides: Partial<TokenRequest> = {},
): TokenRequest {
  return {
    body: { kind: 'form', params: new Map(), resources: [] },
    grantType: 'client_credentials',
    requestedScopes: scopes,
    audiences: [],
    clientIdHint: 'claimed-by-request',
    ...overrides,
  };
}

const CLAIMS: JWTPayload = {
  azp: 'm2m',
  gty: 'client-credentials',
  aud: 'https://api',
  scope: 'read:a write:a admin.users',
};

async function removed(metrics: Metrics): Promise<Record<string, number>> {
  const metric = await metrics.scopesRemoved.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

describe('identify', () => {
  it('takes client and grant from the verified token, not from the request', () => {
    const identity = identify(
      CLAIMS,
      request(undefined, { grantType: 'password' }),
      CLIENT_ID_CLAIMS,
    );
    expect(identity).toEqual({
      clientId: 'm2m',
      grantType: 'client_credentials',
      audiences: ['https://api'],
    });
  });
});

describe('decideScopes', () => {
  it('issues what was asked for and counts the rest as not requested', async () => {
    const metrics = new Metrics();
    const runtime = runtimeFor('reject');
    const outcome = decideScopes(
      request(['read:a']),
      CLAIMS,
      identify(CLAIMS, request([]), CLIENT_ID_CLAIMS),
      runtime,
      metrics,
    );
    expect(outcome.decision.issued).toEqual(['read:a']);
    expect(outcome.narrowed).toBe(true);
    expect(await removed(metrics)).toEqual({ not_requested: 2 });
  });

  it('refuses in reject mode with scope_refused, naming only the refused scopes', async () => {
    const metrics = new Metrics();
    const runtime = runtimeFor('reject');
    let error: unknown;
    try {
      decideScopes(
        request(['read:a', 'admin.users', 'nope']),
        CLAIMS,
        identify(CLAIMS, request([]), CLIENT_ID_CLAIMS),
        runtime,
        metrics,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OAuthError);
    const refusal = error as OAuthError;
    expect(refusal).toMatchObject({ error: 'invalid_scope', status: 400, kind: 'scope_refused' });
    expect(refusal.description).toBe('the requested scope is not permitted: admin.users nope');
    expect(refusal.description).not.toContain('write:a');
    expect(await removed(metrics)).toMatchObject({ policy: 1, not_granted: 1 });
  });

  it('drops refused scopes in drop mode and issues the rest', () => {
    const outcome = decideScopes(
      request(['read:a', 'admin.users']),
      CLAIMS,
      identify(CLAIMS, request([]), CLIENT_ID_CLAIMS),
      runtimeFor('drop'),
      new Metrics(),
    );
    expect(outcome.decision.issued).toEqual(['read:a']);
    expect(outcome.narrowed).toBe(true);
  });

  it('refuses even in drop mode when nothing would be left', () => {
    expect(() =>
      decideScopes(
        request(['admin.users']),
        CLAIMS,
        identify(CLAIMS, request([]), CLIENT_ID_CLAIMS),
        runtimeFor('drop'),
        new Metrics(),
      ),
    ).toThrow(/not permitted: admin.users/);
  });

  it('with nothing requested issues every granted scope policies allow, withholding the rest', async () => {
    const metrics = new Metrics();
    const outcome = decideScopes(
      request(undefined),
      CLAIMS,
      identify(CLAIMS, request([]), CLIENT_ID_CLAIMS),
      runtimeFor('reject'),
      metrics,
    );
    expect(outcome.decision.issued).toEqual(['read:a', 'write:a']);
    expect(outcome.decision.withheld.map((v) => v.scope)).toEqual(['admin.users']);
    expect(outcome.narrowed).toBe(true);
    expect(await removed(metrics)).toEqual({ policy: 1 });
  });
});
