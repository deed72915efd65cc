/**
 * response_mode=form_post at glewlwyd through scopegate: glewlwyd answers the authorization
 * request with its own auto-submitting HTML form, and the `iss` inside it reaches the browser as
 * scopegate's issuer, so openid-client (which knows only scopegate) redeems the posted code.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GlewlwydIdp,
  startGlewlwyd,
  USER,
  WEB_CLIENT,
} from '../fixtures/glewlwyd/identity-provider.js';
import { grantScopes, logInUser } from '../fixtures/glewlwyd/user-session.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { postedForm, startPkceLogin } from '../support/pkce-login.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
let config: client.Configuration;

beforeAll(async () => {
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {});
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

/** The hidden inputs of the page's form, whatever the attribute order and quoting. */
function hiddenInputs(html: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [tag] of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\sname=["']([^"']*)["']/i.exec(tag)?.[1];
    const value = /\svalue=["']([^"']*)["']/i.exec(tag)?.[1];
    if (name !== undefined && value !== undefined) fields.set(name, value);
  }
  return fields;
}

describe('form_post at glewlwyd through scopegate', () => {
  it("posts scopegate's iss, and openid-client redeems the code", async () => {
    const login = await startPkceLogin(config, {
      redirect_uri: WEB_CLIENT.redirect_uri,
      response_mode: 'form_post',
      scope: 'openid api.read',
    });
    const cookie = await logInUser(gateway.issuer, USER);
    await grantScopes(gateway.issuer, cookie, WEB_CLIENT.client_id, WEB_CLIENT.scopes);
    const resume = new URL(login.authorizationUrl);
    resume.searchParams.set('g_continue', '');
    const page = await fetch(resume, { redirect: 'manual', headers: { cookie } });
    const html = await page.text();
    expect(page.status, html).toBe(200);
    // glewlwyd names no content type (browsers sniff the page as HTML) and percent-encodes the
    // values of its form: scopegate still finds the iss and writes its own, in plain form.
    expect(page.headers.get('content-type')).toBeNull();
    expect(html).not.toContain(idp.issuer);
    const fields = hiddenInputs(html);
    expect(fields.get('iss')).toBe(gateway.issuer);
    expect(fields.get('state')).toBe(login.state);

    const tokens = await login.redeem(postedForm(WEB_CLIENT.redirect_uri, fields));
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gateway.issuer });
    expect(payload.scope).toBe('openid api.read');
  });
});
