/**
 * A scripted browser logging a user in at glewlwyd through scopegate. glewlwyd's authorization
 * endpoint first sends the browser to its login page; the page logs the user in through the REST
 * API (POST /api/auth/ with username and password, which sets the session cookie), records the
 * consent (PUT /api/auth/grant/{client_id}), and sends the browser back to the authorization
 * request with `g_continue`, which glewlwyd then answers with the code.
 *
 * glewlwyd's page takes that way back from its `callback_url` parameter, which names glewlwyd's
 * own external URL (the origin its discovery document has to name as well, for scopegate to
 * proxy it): a page that followed it would leave scopegate. So here the page returns to the
 * authorization request the browser came from, on scopegate, as a login page served for
 * scopegate's origin would.
 */
import { expect } from 'vitest';
import { grantScopes, logInUser } from '../fixtures/glewlwyd/user-session.js';

export interface BrowserLogin {
  /** Where glewlwyd's redirect to its login page pointed, after scopegate's rewrite. */
  loginPage: URL;
  /** The authorization response: the client's redirect_uri with code, state and iss. */
  callback: URL;
}

async function redirectOf(url: URL, cookie?: string): Promise<URL> {
  const response = await fetch(url, {
    redirect: 'manual',
    ...(cookie === undefined ? {} : { headers: { cookie } }),
  });
  await response.arrayBuffer();
  const location = response.headers.get('location');
  if (response.status !== 302 || location === null) {
    throw new Error(`expected a redirect from ${url.href}, got ${response.status}`);
  }
  return new URL(location, url);
}

export async function logInThroughGateway(options: {
  gatewayIssuer: string;
  authorizationUrl: URL;
  user: { username: string; password: string };
  clientId: string;
  consent: readonly string[];
}): Promise<BrowserLogin> {
  const gatewayOrigin = new URL(options.gatewayIssuer).origin;
  expect(options.authorizationUrl.origin).toBe(gatewayOrigin);
  const loginPage = await redirectOf(options.authorizationUrl);
  // The login page's own requests go to where the page was served: scopegate.
  const cookie = await logInUser(options.gatewayIssuer, options.user);
  await grantScopes(options.gatewayIssuer, cookie, options.clientId, options.consent);
  const resume = new URL(options.authorizationUrl);
  resume.searchParams.set('g_continue', '');
  const callback = await redirectOf(resume, cookie);
  return { loginPage, callback };
}
