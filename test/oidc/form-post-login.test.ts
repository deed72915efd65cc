/**
 * response_mode=form_post through scopegate, end to end: openid-client in front of
 * node-oidc-provider, authorization code + PKCE. The upstream answers the resumed authorization
 * request with its auto-submitting HTML form; the browser (scripted) posts that form to the
 * client, and openid-client, which checks `iss` against scopegate's discovery, accepts it and
 * redeems the code for scopegate's tokens.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverClient } from '../support/discover-client.js';
import { postedForm, startPkceLogin } from '../support/pkce-login.js';
import { ACCOUNT, type LoginUpstream, startLoginUpstream, WEB_CLIENT } from './login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from './self-issued-gateway.js';

let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
let config: client.Configuration;

beforeAll(async () => {
  upstream = await startLoginUpstream();
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    keys: [{ kid: 'form-post-es', alg: 'ES256', status: 'active' }],
  });
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

interface PostedForm {
  action: string;
  fields: Array<[string, string]>;
  html: string;
}

/** What a browser would post from the page: read with a deliberately plain parser of its own. */
function formOf(html: string): PostedForm {
  const decode = (value: string) =>
    value
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const action = /<form[^>]*\saction="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no form in the page: ${html}`);
  const fields: Array<[string, string]> = [];
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g)) {
    fields.push([decode(match[1] as string), decode(match[2] as string)]);
  }
  return { action: decode(action), fields, html };
}

/** Follows the login like a browser, on scopegate's origin, until the page with the form. */
async function browseToForm(start: string): Promise<PostedForm> {
  const cookies = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 12; hop++) {
    expect(new URL(url).origin, `hop ${hop} left scopegate: ${url}`).toBe(
      new URL(gateway.url).origin,
    );
    const response = await fetch(url, {
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        accept: 'text/html',
        'accept-encoding': 'gzip, deflate, br, zstd',
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    const body = await response.text();
    const location = response.headers.get('location');
    if (location === null) {
      expect([200, 400], body).toContain(response.status);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(body));
      return formOf(body);
    }
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

async function formPostLogin(scope: string, extra: Record<string, string> = {}) {
  const login = await startPkceLogin(config, {
    redirect_uri: WEB_CLIENT.redirect_uri,
    response_mode: 'form_post',
    scope,
    ...extra,
  });
  const form = await browseToForm(login.authorizationUrl.href);
  return { form, login, state: login.state, nonce: login.nonce };
}

describe('response_mode=form_post through scopegate', () => {
  it('is advertised', () => {
    expect(config.serverMetadata().response_modes_supported).toContain('form_post');
  });

  it("posts scopegate's iss, and openid-client redeems the code for scopegate's tokens", async () => {
    const { form, login, state, nonce } = await formPostLogin('openid email api:read');
    expect(form.action).toBe(WEB_CLIENT.redirect_uri);
    const fields = new Map(form.fields);
    expect(fields.get('iss')).toBe(gateway.issuer);
    expect(fields.get('state')).toBe(state);
    expect(fields.get('code')).toEqual(expect.any(String));
    expect(form.html).not.toContain(upstream.issuer);

    // The browser posts the form to the client's callback, where openid-client reads it.
    const tokens = await login.redeem(postedForm(form.action, form.fields));
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const id = await jwtVerify(tokens.id_token as string, jwks, {
      issuer: gateway.issuer,
      audience: WEB_CLIENT.client_id,
    });
    expect(id.payload).toMatchObject({ sub: ACCOUNT.sub, nonce });
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: gateway.issuer });
    expect(access.payload).toMatchObject({ sub: ACCOUNT.sub, client_id: WEB_CLIENT.client_id });
  });

  it("rewrites the error response's iss too", async () => {
    // prompt=none without a session: the upstream answers at once with an error, posted the
    // same way (status 400, from the authorization endpoint itself).
    const { form, state } = await formPostLogin('openid', { prompt: 'none' });
    const fields = new Map(form.fields);
    expect(fields.get('error')).toBe('login_required');
    expect(fields.get('state')).toBe(state);
    expect(fields.get('iss')).toBe(gateway.issuer);
  });
});
