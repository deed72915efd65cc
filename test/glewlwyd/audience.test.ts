/**
 * glewlwyd (without resource indicators) sets an access token's `aud` to the granted scopes
 * joined by spaces: one string such as "api.read api.write". scopegate accepts that (it checks
 * `aud` only against an audience the client asked for), and in its own token withholds from
 * `aud` every granted scope it did not issue (proxy/issued/audience-claim.ts): a resource server
 * that authorizes on `aud` must not get back what narrowing took away.
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
  it('is accepted, and narrowed with scope in the form glewlwyd wrote it', async () => {
    const answer = await readTokenAnswer(await request({ scope: 'api.read' }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims?.scope).toBe('api.read');
    // glewlwyd granted what scopegate asked for (upstream.default_scope, both scopes) and named
    // both in aud; the issued aud keeps only the issued one, still one string.
    expect(answer.claims?.aud).toBe('api.read');
  });

  it('keeps the whole list when every granted scope is issued', async () => {
    const answer = await readTokenAnswer(await request({ scope: 'api.read api.write' }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
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
