/**
 * A scripted browser login through scopegate with openid-client: authorization code + PKCE,
 * redirects followed like a browser that never leaves scopegate's origin, the callback redeemed
 * at scopegate's token endpoint.
 */
import type * as client from 'openid-client';
import { expect } from 'vitest';
import { startPkceLogin } from '../support/pkce-login.js';
import { WEB_CLIENT } from './login-upstream.js';

/** A browser's cookie jar, enough for one login (names only; every cookie sent everywhere). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Follows redirects like a browser until one leaves for `stopAt`, checking that every other
 * hop stays on `origin` (scopegate's). Returns the final URL. `fetcher` is how the browser
 * connects (another fetch for a listener with a test CA).
 */
export async function browse(
  start: string,
  stopAt: string,
  origin: string,
  fetcher: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<string> {
  const jar = new CookieJar();
  let url = start;
  for (let hop = 0; hop < 12; hop++) {
    expect(new URL(url).origin, `hop ${hop} left scopegate: ${url}`).toBe(origin);
    const response = await fetcher(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(response);
    await response.arrayBuffer();
    const location = response.headers.get('location');
    if (!location) throw new Error(`no redirect from ${url} (status ${response.status})`);
    url = new URL(location, url).href;
    if (url.startsWith(stopAt)) return url;
  }
  throw new Error('too many redirects');
}

/** Logs WEB_CLIENT in with `scope` through the gateway `config` was discovered from. */
export async function browserLogin(
  config: client.Configuration,
  gatewayUrl: string,
  scope: string,
  options?: client.DPoPOptions,
) {
  const pkce = await startPkceLogin(
    config,
    { redirect_uri: WEB_CLIENT.redirect_uri, scope },
    options,
  );
  const origin = new URL(gatewayUrl).origin;
  expect(pkce.authorizationUrl.origin).toBe(origin);
  const callback = await browse(pkce.authorizationUrl.href, WEB_CLIENT.redirect_uri, origin);
  const tokens = await pkce.redeem(new URL(callback));
  const { nonce } = pkce;
  return { callback, tokens, nonce };
}
