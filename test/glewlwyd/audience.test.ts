/**
 * glewlwyd (without resource indicators) sets an access token's `aud` to the granted scopes
 * joined by spaces: one string such as "api.read api.write". scopegate accepts that (it checks
 * `aud` only against an audience the client asked for) and carries the upstream's `aud` into
 * its own token unchanged, as it does for every upstream. So `aud` names the scopes scopegate
 * asked glewlwyd for, which can be more than the narrowed `scope`: resource servers behind
 * scopegate must authorize on `scope`, never on glewlwyd's `aud`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { postForm, readTokenAnswer } from '../support/gateway.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;

const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;

beforeAll(async () => {
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {
    scopeRequest: 'omit',
    upstream: { default_scope: 'api.read api.write' },
  });
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

function request(params: Record<string, string>) {
  return postForm(
    `${gateway.issuer}${idp.tokenPath}`,
    { grant_type: 'client_credentials', ...params },
    { authorization: basic },
  );
}

describe("glewlwyd's scope-list aud through scopegate", () => {
  it('is accepted, and carried as glewlwyd wrote it while scope is narrowed', async () => {
    const answer = await readTokenAnswer(await request({ scope: 'api.read' }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims?.scope).toBe('api.read');
    // What scopegate asked glewlwyd for (upstream.default_scope), one string.
    expect(answer.claims?.aud).toBe('api.read api.write');
  });

  it('a requested audience glewlwyd did not put in aud is invalid_target', async () => {
    // glewlwyd ignores resource and audience parameters unless resource indicators are set up.
    const answer = await readTokenAnswer(
      await request({ scope: 'api.read', resource: 'https://api.example.com' }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_target');
    expect(answer.claims).toBeUndefined();
  });

  it('one scope of the list is not an audience of its own: the aud string is compared whole', async () => {
    const answer = await readTokenAnswer(
      await request({ scope: 'api.read', audience: 'api.read' }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_target');
  });
});
