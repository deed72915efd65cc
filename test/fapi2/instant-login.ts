/**
 * An IdP without PAR, PKCE or `iss` in its authorization responses (the custom upstream, real
 * HTTP and real signatures) whose authorization endpoint logs the user in at once: it answers
 * every request with a redirect to the redirect_uri carrying a fresh code and the state it was
 * sent. Its token endpoint redeems any code it issued, as often as asked (the upstream itself
 * enforces nothing), with an access token for that client. Behind it, a scopegate holding every
 * client to the fapi2 profile; and the steps of a client's flow through it, as raw HTTP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  assertionClaims,
  type ClientKey,
  clientKey,
  JWT_BEARER,
  signAssertion,
} from '../client-auth/client-auth-harness.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import { postForm } from '../support/gateway.js';

export const APP = { client_id: 'app', redirect_uri: 'https://app.example/cb' } as const;
export const OTHER = { client_id: 'other', redirect_uri: 'https://other.example/cb' } as const;
/** Each client's private_key_jwt key (the profile's client authentication), by client id. */
export const CLIENT_KEYS: ReadonlyMap<string, ClientKey> = new Map([
  [APP.client_id, await clientKey('app-1')],
  [OTHER.client_id, await clientKey('other-1')],
]);

/** A held client's rule: private_key_jwt verified by scopegate, its registered redirect URI. */
export function heldClientRule(client: { client_id: string; redirect_uri: string }) {
  const key = CLIENT_KEYS.get(client.client_id) as ClientKey;
  return {
    client_id: client.client_id,
    redirect_uris: [client.redirect_uri],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    upstream_auth: { method: 'client_secret_post', client_secret: `${client.client_id}-secret` },
  };
}

/** A private_key_jwt assertion of `clientId` for scopegate's issuer (claims overridable). */
export async function clientAssertion(
  gateway: { issuer: string },
  clientId: string,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const key = CLIENT_KEYS.get(clientId);
  if (key === undefined) return {};
  return {
    client_assertion_type: JWT_BEARER,
    client_assertion: await signAssertion(
      assertionClaims(clientId, gateway.issuer, overrides),
      key,
    ),
  };
}

export const FAPI2_PROOF_ALGORITHMS = ['ES256', 'PS256', 'EdDSA'] as const;

/** The client's DPoP key (RFC 9449): every token request of a held client is proved with it. */
export const DPOP_KEY = await generateKeyPair('ES256');
export const DPOP_JKT = await calculateJwkThumbprint(await exportJWK(DPOP_KEY.publicKey));

/** A DPoP proof for scopegate's token endpoint (or another of its paths). */
export async function tokenProof(
  gateway: SelfIssuedGateway,
  key: Awaited<ReturnType<typeof generateKeyPair>> = DPOP_KEY,
  path = '/oauth/token',
): Promise<string> {
  return new SignJWT({
    jti: randomBytes(12).toString('base64url'),
    htm: 'POST',
    htu: `${gateway.issuer}${path}`,
    iat: Math.floor(Date.now() / 1000),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey) })
    .sign(key.privateKey);
}

export interface InstantLogin {
  upstream: CustomUpstream;
  gateway: SelfIssuedGateway;
  /** Codes the upstream issued, with the client they were issued to. */
  codes: Map<string, string>;
  /** The query of every request the upstream's authorization endpoint received. */
  authorizations: Record<string, string>[];
  close(): Promise<void>;
}

export async function startInstantLogin(
  config: Record<string, unknown> = {},
): Promise<InstantLogin> {
  const codes = new Map<string, string>();
  const authorizations: Record<string, string>[] = [];
  const upstream = await startCustomUpstream({
    alg: 'ES256',
    document: (url) => ({
      authorization_endpoint: `${url}/authorize`,
      response_types_supported: ['code', 'token', 'code id_token'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    }),
    routes: {
      '/authorize': ({ query = {} }) => {
        authorizations.push(query);
        const code = randomBytes(16).toString('base64url');
        codes.set(code, query.client_id ?? '');
        const target = new URL(query.redirect_uri ?? 'https://nowhere.example/');
        target.searchParams.set('code', code);
        if (query.state !== undefined) target.searchParams.set('state', query.state);
        return { status: 302, body: '', headers: { location: target.href } };
      },
    },
    handler: ({ params }, self) => {
      const clientId = codes.get(params.code ?? '');
      if (params.grant_type !== 'authorization_code' || clientId === undefined) {
        return { status: 400, body: { error: 'invalid_grant' } };
      }
      return self.tokenResponse({ sub: 'alice', client_id: clientId, scope: 'openid api.read' });
    },
  });
  const gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    config: {
      profile: 'fapi2',
      // One list for every client: the profile's algorithms only.
      tokens: { dpop: { algorithms: [...FAPI2_PROOF_ALGORITHMS] } },
      clients: [heldClientRule(APP), heldClientRule(OTHER)],
      ...config,
    },
  });
  return {
    upstream,
    gateway,
    codes,
    authorizations,
    async close() {
      await gateway.close();
      await upstream.close();
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A conforming pushed request of `client` (overrides replace; undefined removes). */
export function pushedParams(
  client: { client_id: string; redirect_uri: string },
  challenge: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const params: Record<string, string | undefined> = {
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: client.redirect_uri,
    scope: 'openid api.read',
    state: 'client-state-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** A push, authenticated with the named client's assertion unless `assertion` says otherwise. */
export async function push(
  gateway: SelfIssuedGateway,
  params: Record<string, string>,
  headers: Record<string, string> = {},
  assertion: Record<string, unknown> | null = {},
): Promise<Response> {
  const authentication =
    assertion === null || params.client_id === undefined
      ? {}
      : await clientAssertion(gateway, params.client_id, assertion);
  return postForm(`${gateway.issuer}/par`, { ...params, ...authentication }, headers);
}

/** The authorization endpoint through scopegate, the redirect not followed. */
export function authorize(
  gateway: SelfIssuedGateway,
  query: Record<string, string>,
): Promise<Response> {
  const url = new URL(`${gateway.issuer}/authorize`);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return fetch(url, { redirect: 'manual' });
}

/** A whole conforming front channel: pushed, authorized; the authorization response's URL. */
export async function frontChannel(
  login: InstantLogin,
  client: { client_id: string; redirect_uri: string } = APP,
  overrides: Record<string, string | undefined> = {},
): Promise<{ callback: URL; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const pushed = await push(login.gateway, pushedParams(client, challenge, overrides));
  if (pushed.status !== 201)
    throw new Error(`PAR answered ${pushed.status}: ${await pushed.text()}`);
  const { request_uri } = (await pushed.json()) as { request_uri: string };
  const answer = await authorize(login.gateway, {
    client_id: client.client_id,
    request_uri,
  });
  const location = answer.headers.get('location');
  if (answer.status !== 302 || location === null) {
    throw new Error(`authorize answered ${answer.status}: ${await answer.text()}`);
  }
  return { callback: new URL(location), verifier };
}

export interface Redemption {
  code: string;
  verifier?: string;
  client_id?: string;
  redirect_uri?: string;
  /** The DPoP proof: by DPOP_KEY unless given; null sends none. */
  proof?: string | null;
  /** Claims changed in the client's assertion; null sends none. */
  assertion?: Record<string, unknown> | null;
}

/** The authorization code grant at scopegate's token endpoint, proved with DPoP. */
export async function redeem(gateway: SelfIssuedGateway, params: Redemption): Promise<Response> {
  const proof = params.proof === undefined ? await tokenProof(gateway) : params.proof;
  const clientId = params.client_id ?? APP.client_id;
  const authentication =
    params.assertion === null ? {} : await clientAssertion(gateway, clientId, params.assertion);
  return postForm(
    `${gateway.issuer}/oauth/token`,
    {
      ...authentication,
      grant_type: 'authorization_code',
      code: params.code,
      client_id: params.client_id ?? APP.client_id,
      redirect_uri: params.redirect_uri ?? APP.redirect_uri,
      ...(params.verifier === undefined ? {} : { code_verifier: params.verifier }),
    },
    proof === null ? {} : { dpop: proof },
  );
}
