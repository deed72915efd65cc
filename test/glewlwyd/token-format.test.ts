/**
 * glewlwyd issues JWT access tokens only, and introspects (RFC 7662) only for the client a token
 * was issued to (`introspection-revocation-allow-target-client`; the other way is a bearer token
 * with an admin scope, which scopegate's client authentication does not use). So:
 * - `upstream.token_format: auto` verifies glewlwyd's JWTs as a `jwt` upstream would;
 * - `opaque` works for a client that scopegate's introspection registration may introspect, here
 *   the client-credentials client itself, and the answer is built into scopegate's token; for a
 *   token of another client glewlwyd answers `active: false`, so the request fails closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
  WEB_CLIENT,
} from '../fixtures/glewlwyd/identity-provider.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { postForm, readTokenAnswer } from '../support/gateway.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let auto: SelfIssuedGateway;
let opaque: SelfIssuedGateway;
/** Introspects as the web client, which glewlwyd does not let see the machine client's tokens. */
let foreign: SelfIssuedGateway;

const BOTH = 'api.read api.write';
const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;

beforeAll(async () => {
  idp = await startGlewlwyd();
  const introspection = {
    client_id: CC_CLIENT.client_id,
    client_secret: CC_CLIENT.client_secret,
  };
  // glewlwyd's vendor claim `type` carried, so that where a token was built from shows.
  const carryType = { tokens: { carry_claims: ['azp', 'type'] } };
  [auto, opaque, foreign] = await Promise.all([
    startGlewlwydGateway(idp, {
      config: carryType,
      upstream: { default_scope: BOTH, token_format: 'auto', introspection },
    }),
    startGlewlwydGateway(idp, {
      config: carryType,
      upstream: { default_scope: BOTH, token_format: 'opaque', introspection },
    }),
    startGlewlwydGateway(idp, {
      upstream: {
        default_scope: BOTH,
        token_format: 'opaque',
        introspection: { client_id: WEB_CLIENT.client_id, client_secret: WEB_CLIENT.client_secret },
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([auto?.close(), opaque?.close(), foreign?.close()]);
  await idp?.stop();
});

function clientCredentials(gateway: SelfIssuedGateway, scope: string) {
  return postForm(
    `${gateway.issuer}${idp.tokenPath}`,
    { grant_type: 'client_credentials', scope },
    { authorization: basic },
  );
}

describe('token_format against glewlwyd', () => {
  it("auto: glewlwyd's JWT is verified and narrowed", async () => {
    const answer = await readTokenAnswer(await clientCredentials(auto, 'api.read'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims).toMatchObject({
      iss: auto.issuer,
      client_id: CC_CLIENT.client_id,
      scope: 'api.read',
      // Carried from glewlwyd's JWT (listed in tokens.carry_claims).
      type: 'access_token',
    });
  });

  it("opaque: glewlwyd's introspection answer becomes scopegate's token", async () => {
    const answer = await readTokenAnswer(await clientCredentials(opaque, 'api.write'));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims).toMatchObject({
      iss: opaque.issuer,
      client_id: CC_CLIENT.client_id,
      scope: 'api.write',
    });
    // Built from the introspection answer: the JWT's own `type` member is not in it.
    expect(answer.claims).not.toHaveProperty('type');
  });

  it('opaque: a token glewlwyd will not introspect for scopegate fails closed', async () => {
    const response = await clientCredentials(foreign, 'api.read');
    expect(response.status).toBe(502);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('server_error');
    expect(body).not.toHaveProperty('access_token');
    // glewlwyd answered, and said the token is not active for this caller.
    const record = foreign.logs.records().find((line) => line.route === 'token');
    expect(record).toMatchObject({
      outcome: 'verify_failed',
      reason: 'introspection: token not active',
    });
  });
});
