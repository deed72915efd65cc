/**
 * Client credentials through scopegate in front of glewlwyd, which wants a scope on every
 * client-credentials request (none is a bare 403) and only form bodies (JSON is a bare 400).
 * scopegate asks for `clients[].upstream_scope` or `upstream.default_scope` when it would ask
 * for nothing, forwards JSON requests form-encoded, and narrows what glewlwyd grants to what the
 * client asked for.
 */
import { decodeProtectedHeader } from 'jose';
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
/** omit mode: glewlwyd is asked for the client's upstream_scope. */
let omitting: SelfIssuedGateway;
/** forward mode with upstream.default_scope, and refused scopes dropped. */
let forwarding: SelfIssuedGateway;
/** forward mode with nothing configured to ask for. */
let bare: SelfIssuedGateway;

const BOTH = 'api.read api.write';
const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;

beforeAll(async () => {
  idp = await startGlewlwyd();
  [omitting, forwarding, bare] = await Promise.all([
    startGlewlwydGateway(idp, {
      scopeRequest: 'omit',
      config: { clients: [{ client_id: CC_CLIENT.client_id, upstream_scope: BOTH }] },
    }),
    startGlewlwydGateway(idp, {
      upstream: { default_scope: BOTH },
      config: { tokens: { on_unauthorized_scope: 'drop' } },
    }),
    startGlewlwydGateway(idp),
  ]);
});

afterAll(async () => {
  await Promise.all([omitting?.close(), forwarding?.close(), bare?.close()]);
  await idp?.stop();
});

function tokenUrl(gateway: SelfIssuedGateway): string {
  return `${gateway.issuer}${idp.tokenPath}`;
}

function clientCredentials(gateway: SelfIssuedGateway, scope?: string) {
  return postForm(
    tokenUrl(gateway),
    { grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) },
    { authorization: basic },
  );
}

function scopesOf(claims: Record<string, unknown> | undefined): string[] {
  return String(claims?.scope ?? '')
    .split(' ')
    .sort();
}

describe('a client-credentials request without scope', () => {
  it('omit mode asks glewlwyd for the client upstream_scope: every granted scope, re-signed', async () => {
    const answer = await readTokenAnswer(await clientCredentials(omitting));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe(BOTH);
    expect(answer.claims).toMatchObject({
      iss: omitting.issuer,
      client_id: CC_CLIENT.client_id,
      sub: CC_CLIENT.client_id,
    });
    expect(scopesOf(answer.claims)).toEqual(['api.read', 'api.write']);
    expect(decodeProtectedHeader(answer.body.access_token as string)).toMatchObject({
      alg: 'ES256',
      kid: 'gw-es',
      typ: 'at+jwt',
    });
  });

  it('forward mode asks glewlwyd for upstream.default_scope', async () => {
    const answer = await readTokenAnswer(await clientCredentials(forwarding));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(scopesOf(answer.claims)).toEqual(['api.read', 'api.write']);
  });

  it("with nothing to ask for, glewlwyd's empty 403 becomes an OAuth error", async () => {
    const response = await clientCredentials(bare);
    expect(response.status).toBe(403);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_request');
    expect(typeof body.error_description).toBe('string');
    expect(body).not.toHaveProperty('access_token');
  });
});

describe('narrowing what glewlwyd grants', () => {
  it('omit mode: a requested subset gets exactly that subset', async () => {
    const answer = await readTokenAnswer(await clientCredentials(omitting, 'api.write'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe('api.write');
    expect(answer.claims?.scope).toBe('api.write');
  });

  it('forward mode: glewlwyd narrows to the request, scopegate issues the same', async () => {
    const answer = await readTokenAnswer(await clientCredentials(forwarding, 'api.read'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims?.scope).toBe('api.read');
  });

  it('a scope glewlwyd did not grant is refused (reject), naming only that scope', async () => {
    const response = await clientCredentials(omitting, 'api.read api.admin');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_scope',
      error_description: 'the requested scope is not permitted: api.admin',
    });
  });

  it('a scope glewlwyd did not grant is removed (drop), and the response says so', async () => {
    // glewlwyd leaves api.admin out by itself; scopegate does not take its word for it.
    const answer = await readTokenAnswer(await clientCredentials(forwarding, 'api.read api.admin'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe('api.read');
    expect(answer.claims?.scope).toBe('api.read');
  });

  it("nothing grantable left: glewlwyd's scope_invalid becomes invalid_request, with no token", async () => {
    const response = await clientCredentials(forwarding, 'api.admin');
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_request');
    expect(String(body.error_description)).toContain('scope_invalid');
    expect(body).not.toHaveProperty('access_token');
  });
});

describe('a JSON token request', () => {
  it('reaches glewlwyd form-encoded and gets a narrowed token', async () => {
    const response = await fetch(tokenUrl(omitting), {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', scope: 'api.read' }),
    });
    const answer = await readTokenAnswer(response);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims).toMatchObject({ iss: omitting.issuer, scope: 'api.read' });
  });

  it('works with client_secret_post members in the JSON body', async () => {
    const response = await fetch(tokenUrl(forwarding), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: CC_CLIENT.client_id,
        client_secret: CC_CLIENT.client_secret,
        scope: 'api.write',
      }),
    });
    const answer = await readTokenAnswer(response);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims?.scope).toBe('api.write');
  });
});
