/**
 * The client side of an authorization code + PKCE login with openid-client: the authorization
 * URL to send the browser to, and the redemption of what comes back (a redirect's URL, or the
 * request a browser makes when it posts a form_post page).
 */
import * as client from 'openid-client';

export interface PkceLogin {
  authorizationUrl: URL;
  state: string;
  nonce: string;
  redeem(callback: URL | Request): ReturnType<typeof client.authorizationCodeGrant>;
}

export async function startPkceLogin(
  config: client.Configuration,
  parameters: Record<string, string> & { redirect_uri: string; scope: string },
  /** Options of the code redemption (a DPoP handle). */
  options?: client.DPoPOptions,
): Promise<PkceLogin> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...parameters,
  });
  return {
    authorizationUrl,
    state,
    nonce,
    redeem: (callback) =>
      client.authorizationCodeGrant(
        config,
        callback,
        {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        },
        undefined,
        options,
      ),
  };
}

/** The request a browser makes when it submits a form_post page's form. */
export function postedForm(action: string, fields: Iterable<[string, string]>): Request {
  return new Request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams([...fields]).toString(),
  });
}
