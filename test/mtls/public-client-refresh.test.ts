/**
 * RFC 8705 §4: a public client's refresh token is bound to the certificate its tokens were bound
 * to, since nothing else ties the refresh token to that client; a confidential client's is bound
 * by its authentication, and each refresh binds the new token to the certificate presented for it.
 * Through scopegate's TLS listener in front of a programmable upstream that, like Auth0, answers
 * every grant with a rotated refresh token.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import { jwtPayload, startTestGateway, type TestGateway } from '../support/gateway.js';
import { certificateFetch } from './certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki } from './mtls-pki.js';

let pki: MtlsPki;
let upstream: CustomUpstream;
let gateway: TestGateway;
let issued = 0;

beforeAll(async () => {
  pki = await createMtlsPki();
  upstream = await startCustomUpstream({ alg: 'ES256' });
  upstream.setHandler((request, idp) => {
    issued += 1;
    return idp.tokenResponse(
      { sub: 'user-1', client_id: request.params.client_id ?? 'unknown', scope: 'read write' },
      { refresh_token: `upstream-rt-${issued}` },
    );
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    admin: false,
    config: {
      server: {
        watch_config: false,
        tls: {
          cert_file: pki.server.certFile,
          key_file: pki.server.keyFile,
          client_ca_file: pki.caFile,
        },
      },
      tokens: { refresh_token_key: randomBytes(32).toString('base64url') },
      clients: [
        { client_id: 'spa', tls_client_certificate_bound_access_tokens: true },
        { client_id: 'app', tls_client_certificate_bound_access_tokens: true },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await pki?.remove();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function token(params: Record<string, string>, certificate?: KeyPair): Promise<Answer> {
  const response = await certificateFetch({ ca: pki.ca, client: certificate })(
    `${gateway.url}/oauth/token`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const boundTo = (certificate: KeyPair) => ({
  'x5t#S256': certificateThumbprint(certificate.certificate),
});

describe("a public client's refresh token is bound to its certificate", () => {
  let refreshToken: string;

  beforeAll(async () => {
    // A public client: it names itself and does not authenticate.
    const answer = await token(
      { grant_type: 'client_credentials', client_id: 'spa', scope: 'read' },
      pki.client,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(jwtPayload(answer.body.access_token as string).cnf).toEqual(boundTo(pki.client));
    refreshToken = answer.body.refresh_token as string;
  });

  const refresh = (certificate: KeyPair | undefined, refresh_token = refreshToken) =>
    token({ grant_type: 'refresh_token', client_id: 'spa', refresh_token }, certificate);

  it('refused with another certificate (invalid_grant), before the upstream is asked', async () => {
    const before = upstream.requests.length;
    const answer = await refresh(pki.selfSigned);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_grant' });
    expect(upstream.requests.length).toBe(before);
  });

  it('refused without a certificate', async () => {
    const answer = await refresh(undefined);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_request' });
  });

  it('accepted with the same certificate, and the rotated refresh token stays bound', async () => {
    const answer = await refresh(pki.client);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(jwtPayload(answer.body.access_token as string).cnf).toEqual(boundTo(pki.client));
    const rotated = answer.body.refresh_token as string;
    const again = await refresh(pki.selfSigned, rotated);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant' });
  });
});

describe("a confidential client's refresh token is bound by its authentication", () => {
  it('refreshes with a renewed certificate, and the new token is bound to it', async () => {
    // client_secret_post: the programmable upstream names the client from the body.
    const credentials = { client_id: 'app', client_secret: 'secret' };
    const first = await token(
      { grant_type: 'client_credentials', scope: 'read', ...credentials },
      pki.client,
    );
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const refreshed = await token(
      {
        grant_type: 'refresh_token',
        refresh_token: first.body.refresh_token as string,
        ...credentials,
      },
      pki.selfSigned,
    );
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(jwtPayload(refreshed.body.access_token as string).cnf).toEqual(boundTo(pki.selfSigned));
  });
});
