/**
 * Token exchange test helpers: the RFC 8693 request, and tokens signed with a gateway's own key
 * files (to present subjects a test shapes itself: expired, with may_act, signed by a `next` key).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { importPKCS8, type JWTPayload, SignJWT } from 'jose';
import { hashSecret } from '../../proxy/endpoints/token/exchange/secret-hash.js';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  postForm,
  readTokenAnswer,
  type TestGateway,
  type TokenAnswer,
} from '../support/gateway.js';

export const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * node-oidc-provider with one client-credentials client, `cc-client`, granted the scopes (and
 * the `accounts.*` template) the exchange tests narrow from.
 */
export function startExchangeUpstream(): Promise<OidcUpstream> {
  return startOidcUpstream({
    resourceScopes: 'api:read api:write api:admin accounts.*',
    clients: [
      {
        client_id: 'cc-client',
        client_secret: 'cc-secret',
        scope: 'api:read api:write api:admin accounts.*',
      },
    ],
  });
}

/** token_exchange.clients entries for `svc` (svc-secret) and `other` (o-secret). */
export async function exchangeClients(): Promise<
  Array<{ client_id: string; secret_hash: string }>
> {
  const [svc, other] = await Promise.all([hashSecret('svc-secret'), hashSecret('o-secret')]);
  return [
    { client_id: 'svc', secret_hash: svc },
    { client_id: 'other', secret_hash: other },
  ];
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

export interface ExchangeAnswer extends TokenAnswer {
  headers: Headers;
}

/** POSTs a token exchange of `subject` to the gateway's token endpoint. */
export async function exchange(
  gateway: TestGateway,
  tokenPath: string,
  subject: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<ExchangeAnswer> {
  const response = await postForm(
    `${gateway.url}${tokenPath}`,
    {
      grant_type: EXCHANGE_GRANT,
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      ...params,
    },
    headers,
  );
  return { ...(await readTokenAnswer(response)), headers: response.headers };
}

/** Signs `claims` as an at+jwt with the gateway's key file for `kid` (ES256 unless told). */
export async function signWithGatewayKey(
  gateway: TestGateway,
  kid: string,
  claims: JWTPayload,
  alg = 'ES256',
): Promise<string> {
  const pem = await readFile(path.join(gateway.dir, `${kid}.pem`), 'utf8');
  const key = await importPKCS8(pem, alg);
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'at+jwt' }).sign(key);
}
