/**
 * What scopegate sends the upstream for a client it authenticated itself
 * (`clients[].upstream_auth`): the client's secret at the upstream as HTTP Basic or form members,
 * or an RFC 7523 assertion scopegate signs with the key registered there for the client (fresh
 * `jti`, 60 seconds of validity, `aud` the upstream's token endpoint or issuer).
 *
 * The request is rebuilt from allowlists: the client's own credentials (its Authorization header,
 * client_id, client_secret, client_assertion, client_assertion_type) never reach the upstream,
 * nor does any parameter the endpoint does not name.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { internalError } from '../../../http/oauth-error.js';
import { JWT_BEARER_ASSERTION_TYPE } from '../../../rules/client-auth-methods.js';
import type { Runtime } from '../../../runtime/runtime.js';
import { upstreamUrl } from '../../../upstream/upstream-url.js';
import { callerAuthorization } from '../../upstream-calls/upstream-call.js';
import type { AuthenticatedClient } from './authenticated-client.js';

/** Seconds an assertion scopegate signs is valid: long enough for one call and clock skew. */
const OWN_ASSERTION_LIFETIME = 60;

export interface UpstreamCredentials {
  headers: OutgoingHttpHeaders;
  params: [string, string][];
}

/** RFC 6749 §2.3.1: each part form-urlencoded before Basic encoding. */
function basicHeader(clientId: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

function assertionAudience(client: AuthenticatedClient, runtime: Runtime): string {
  if (client.rule.upstream_auth?.audience === 'issuer') {
    const issuer = runtime.discovery.knownIssuer();
    if (issuer === undefined) throw internalError("the upstream's issuer is not known yet");
    return issuer;
  }
  return upstreamUrl(runtime.config.upstream.url, runtime.tokenPath).href;
}

/** Whether the upstream gets scopegate's credentials for this client, not the client's own. */
export function hasUpstreamCredentials(client: AuthenticatedClient | undefined): boolean {
  return client?.verifiedHere === true && client.rule.upstream_auth !== undefined;
}

/**
 * scopegate's credentials for `client` at the upstream; undefined when the client's own
 * credentials go as received (no upstream_auth: the upstream authenticates it).
 */
export function upstreamCredentials(
  client: AuthenticatedClient | undefined,
  runtime: Runtime,
): UpstreamCredentials | undefined {
  const auth = client?.rule.upstream_auth;
  if (client === undefined || auth === undefined || !hasUpstreamCredentials(client)) {
    return undefined;
  }
  const id = client.upstreamClientId;
  switch (auth.method) {
    case 'client_secret_basic':
      return {
        headers: { authorization: basicHeader(id, auth.client_secret as string) },
        params: [],
      };
    case 'client_secret_post':
      return {
        headers: {},
        params: [
          ['client_id', id],
          ['client_secret', auth.client_secret as string],
        ],
      };
    case 'private_key_jwt': {
      const key = runtime.clientKeys.upstreamAssertionKey(client.clientId);
      if (key === undefined) throw internalError('no upstream assertion key for the client');
      const now = Math.floor(Date.now() / 1000);
      const assertion = key.signer.sign({
        iss: id,
        sub: id,
        aud: assertionAudience(client, runtime),
        jti: randomUUID(),
        iat: now,
        exp: now + OWN_ASSERTION_LIFETIME,
      });
      return {
        headers: {},
        params: [
          ['client_id', id],
          ['client_assertion_type', JWT_BEARER_ASSERTION_TYPE],
          ['client_assertion', assertion],
        ],
      };
    }
  }
}

/**
 * The form for the upstream: for a client with upstream credentials, the `allowed` parameters of
 * the request and scopegate's credentials; otherwise every parameter as received.
 */
export function upstreamForm(
  params: ReadonlyMap<string, string>,
  allowed: ReadonlySet<string>,
  credentials: UpstreamCredentials | undefined,
): Map<string, string> {
  if (credentials === undefined) return new Map(params);
  const form = new Map([...params].filter(([name]) => allowed.has(name)));
  for (const [name, value] of credentials.params) form.set(name, value);
  return form;
}

/** The parameters of a revocation or introspection request the upstream may receive. */
export const FORWARDED_TOKEN_FORM_PARAMETERS: ReadonlySet<string> = new Set([
  'token',
  'token_type_hint',
]);

/**
 * A revocation or introspection call's form and authentication for the upstream: scopegate's
 * credentials and the allowlisted parameters for a client it authenticated, otherwise the
 * caller's form and Authorization header as received. Called per upstream call: an assertion of
 * scopegate's is never sent twice.
 */
export function callerCall(
  params: ReadonlyMap<string, string>,
  authorization: string | undefined,
  client: AuthenticatedClient | undefined,
  runtime: Runtime,
): { form: URLSearchParams; headers: OutgoingHttpHeaders } {
  const credentials = upstreamCredentials(client, runtime);
  const form = upstreamForm(params, FORWARDED_TOKEN_FORM_PARAMETERS, credentials);
  return {
    form: new URLSearchParams([...form]),
    headers: credentials?.headers ?? callerAuthorization(authorization),
  };
}
