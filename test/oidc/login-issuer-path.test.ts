/**
 * OIDC login through a scopegate whose issuer has a path (`http://host:port/gw`): openid-client
 * discovers `{issuer}/.well-known/openid-configuration`, runs authorization code + PKCE in a
 * scripted browser that stays under scopegate's issuer, checks the callback's iss (the issuer
 * with its path), and redeems the code; the ID token verifies against scopegate's JWKS under the
 * path.
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
  gateway = await startSelfIssuedGateway(
    {
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      keys: [{ kid: 'path-es', alg: 'ES256', status: 'active' }],
    },
    '/gw',
  );
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/**
 * A browser's cookie jar that honours `Path` (RFC 6265 §5.1.4 path-match, §5.1.4 default path):
 * what decides whether the upstream's interaction cookies come back under the issuer's path.
 */
class PathCookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  store(response: Response, url: URL): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      const pathAttribute = attributes
        .map((a) => /^\s*path\s*=\s*(\/.*?)\s*$/i.exec(a)?.[1])
        .find((p) => p !== undefined);
      const directory = url.pathname.slice(0, Math.max(url.pathname.lastIndexOf('/'), 1));
      const key = `${name};${pathAttribute ?? directory}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { value: pair.slice(eq + 1), path: pathAttribute ?? directory });
    }
  }
  header(url: URL): string {
    const matches = (path: string) =>
      url.pathname === path ||
      (url.pathname.startsWith(path) && (path.endsWith('/') || url.pathname[path.length] === '/'));
    return [...this.cookies]
      .filter(([, cookie]) => matches(cookie.path))
      .map(([key, cookie]) => `${key.slice(0, key.indexOf(';'))}=${cookie.value}`)
      .join('; ');
  }
}

/**
 * Follows redirects like a browser until one leaves for `stopAt`; every other hop must be under
 * scopegate's issuer (its path included). Returns the final URL, or the page that ended the walk.
 */
async function browse(start: string, stopAt: string): Promise<{ url: string; page?: string }> {
  const jar = new PathCookieJar();
  let url = start;
  for (let hop = 0; hop < 12; hop++) {
    expect(url.startsWith(`${gateway.issuer}/`), `hop ${hop} left the issuer: ${url}`).toBe(true);
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: jar.header(new URL(url)) },
    });
    jar.store(response, new URL(url));
    const body = await response.text();
    const location = response.headers.get('location');
    if (!location) {
      if (response.status === 200 && body.includes(`action="${stopAt}"`))
        return { url, page: body };
      throw new Error(`no redirect from ${url} (status ${response.status}): ${body}`);
    }
    url = new URL(location, url).href;
    if (url.startsWith(stopAt)) return { url };
  }
  throw new Error('too many redirects');
}

describe('OIDC login through an issuer with a path', () => {
  it('discovers every endpoint under the issuer', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(gateway.issuer);
    for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      expect(String(metadata[field]).startsWith(`${gateway.issuer}/`), field).toBe(true);
    }
  });

  it('logs in with code + PKCE: iss and the ID token are the issuer with its path', async () => {
    const login = await startPkceLogin(config, {
      redirect_uri: WEB_CLIENT.redirect_uri,
      scope: 'openid email api:read',
    });
    const { url: callback } = await browse(login.authorizationUrl.href, WEB_CLIENT.redirect_uri);
    expect(new URL(callback).searchParams.get('iss')).toBe(gateway.issuer);
    const tokens = await login.redeem(new URL(callback));
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const id = await jwtVerify(tokens.id_token as string, jwks, {
      issuer: gateway.issuer,
      audience: WEB_CLIENT.client_id,
    });
    expect(id.protectedHeader.kid).toBe('path-es');
    expect(id.payload).toMatchObject({
      sub: ACCOUNT.sub,
      nonce: login.nonce,
      email: ACCOUNT.email,
    });
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: gateway.issuer });
    expect(access.payload).toMatchObject({ sub: ACCOUNT.sub, client_id: WEB_CLIENT.client_id });
  });

  it('posts the issuer with its path in a form_post response', async () => {
    const login = await startPkceLogin(config, {
      redirect_uri: WEB_CLIENT.redirect_uri,
      response_mode: 'form_post',
      scope: 'openid api:read',
    });
    const { page } = await browse(login.authorizationUrl.href, WEB_CLIENT.redirect_uri);
    const fields: Array<[string, string]> = [];
    for (const match of (page ?? '').matchAll(
      /<input type="hidden" name="(\w+)" value="([^"]*)"\/>/g,
    )) {
      fields.push([match[1] as string, (match[2] as string).replace(/&amp;/g, '&')]);
    }
    expect(new Map(fields).get('iss')).toBe(gateway.issuer);
    const tokens = await login.redeem(postedForm(WEB_CLIENT.redirect_uri, fields));
    expect(tokens.claims()?.iss).toBe(gateway.issuer);
  });
});
