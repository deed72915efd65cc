/**
 * The upstream's introspection endpoint (RFC 7662), served by scopegate for its own access
 * tokens, which the upstream does not know.
 *
 * The caller is authenticated by the upstream, which holds the client registrations: scopegate
 * forwards the request with the caller's authentication as received (Authorization header, or
 * client_id/client_secret in the form; for a caller whose rule sets token_endpoint_auth_method,
 * scopegate authenticates it first and sends its own credentials for it) and `token` replaced by the upstream's token sealed inside
 * the presented one, so that a revocation at the upstream shows here, or, when there is none, by
 * a random token the upstream answers inactive for. An upstream refusal becomes scopegate's own
 * OAuth error from a fixed table, never the upstream's words (they may quote the sealed token);
 * a 200 means the caller is authenticated, and scopegate answers from the presented token
 * itself. A token revoked at scopegate's revocation endpoint is inactive.
 *
 * No client binding here (RFC 7662 §2.1): the callers are resource servers, which introspect
 * tokens issued to other clients; the answer names the token's client in `client_id`.
 *
 * Only scopegate's own valid tokens are ever active here. An upstream token is answered
 * `{active: false}`, even though the upstream would call it active: resource servers behind
 * scopegate trust scopegate's issuer, and an upstream token was never narrowed (it carries every
 * scope the upstream granted) and should never be in a client's hands at all. Telling a resource
 * server it is valid would reopen exactly the path scopegate exists to close.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import {
  badUpstream,
  internalError,
  OAuthError,
  sendJson,
  sendOAuthError,
} from '../http/oauth-error.js';
import { confirmationClaim, confirmationOf, tokenTypeOf } from '../issued/confirmation.js';
import type { Runtime } from '../runtime/runtime.js';
import type { UpstreamResponse } from '../upstream/http-client.js';
import { type OwnToken, readOwnToken } from './own-token-state.js';
import { authenticateClient } from './token/client-auth/authenticate-client.js';
import type { AuthenticatedClient } from './token/client-auth/authenticated-client.js';
import { callerCall } from './token/client-auth/upstream-credentials.js';
import { basicCredentials } from './token/token-request.js';
import { readTokenForm } from './token-form.js';
import {
  callUpstream,
  unsupportedTokenType,
  upstreamJson,
} from './upstream-calls/upstream-call.js';
import { upstreamRefusal } from './upstream-calls/upstream-refusal.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** A token no upstream has issued: it authenticates the caller and is answered inactive. */
function unknownToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The upstream's refusal of the caller, from scopegate's fixed table (upstream-refusal.ts): the
 * upstream was sent a token the caller must never see, and may quote it.
 */
function refusal(answer: UpstreamResponse, forwarding: Forwarding): OAuthError {
  const basic = basicCredentials(forwarding.req.headers.authorization) !== undefined;
  return upstreamRefusal(answer, 'introspection', basic);
}

interface Forwarding {
  req: IncomingMessage;
  path: string;
  params: Map<string, string>;
  runtime: Runtime;
  requestId: string;
  /** The caller, when scopegate authenticated it (clients[].token_endpoint_auth_method). */
  client: AuthenticatedClient | undefined;
}

function introspect(token: string, forwarding: Forwarding): Promise<UpstreamResponse> {
  const { form, headers } = callerCall(
    forwarding.params,
    forwarding.req.headers.authorization,
    forwarding.client,
    forwarding.runtime,
  );
  form.set('token', token);
  form.set('token_type_hint', 'access_token');
  return callUpstream(
    {
      path: forwarding.path,
      method: 'POST',
      headers: { ...headers, accept: 'application/json' },
      form,
      requestId: forwarding.requestId,
    },
    forwarding.runtime,
  );
}

/**
 * Whether the upstream still holds the sealed token active (undefined when there is none or the
 * upstream cannot tell); throws the caller's OAuth error when the upstream refuses the caller.
 */
async function upstreamVerdict(
  own: OwnToken | undefined,
  forwarding: Forwarding,
): Promise<boolean | undefined> {
  const sealed = own?.upstreamToken;
  if (sealed !== undefined) {
    const answer = await introspect(sealed, forwarding);
    if (answer.status === 200) {
      const body = upstreamJson(answer);
      if (body === undefined) throw badUpstream('the upstream introspection answer is not JSON');
      return body.active === true;
    }
    // The upstream cannot say (a JWT it does not introspect): scopegate's own checks decide,
    // its token never outlives the upstream's. The caller is still authenticated below.
    if (!unsupportedTokenType(answer)) throw refusal(answer, forwarding);
  }
  const probe = unknownToken();
  const answer = await introspect(probe, forwarding);
  if (answer.status !== 200) throw refusal(answer, forwarding);
  return undefined;
}

/** The `cnf` of an answer: scopegate's binding, rebuilt from its allowlist. */
function confirmationOfAnswer(claims: JWTPayload): Record<string, string> | undefined {
  const read = confirmationOf(claims);
  return read.kind === 'bound' ? confirmationClaim(read.confirmation) : undefined;
}

/** RFC 7662 §2.2 members of an active answer, from scopegate's verified claims only. */
function activeAnswer(claims: JWTPayload, issuer: string): Record<string, unknown> {
  const scope = Array.isArray(claims.scope) ? claims.scope.join(' ') : claims.scope;
  const members: Record<string, unknown> = {
    active: true,
    iss: issuer,
    sub: claims.sub,
    client_id: claims.client_id,
    scope,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    // RFC 9449 §6.2, RFC 8705 §3.2: the binding, so a resource server can check the proof key.
    token_type: tokenTypeOf(claims),
    cnf: confirmationOfAnswer(claims),
  };
  return Object.fromEntries(Object.entries(members).filter(([, value]) => value !== undefined));
}

export async function handleIntrospection(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  runtime: Runtime,
  requestId: string,
): Promise<void> {
  const { config } = runtime;
  try {
    const { body, token } = await readTokenForm(req, config.server.body_limit, 'introspection');
    // A caller configured with its own method authenticates that way here too.
    const client = await authenticateClient(req, body.params, runtime);
    const own = await readOwnToken(token, runtime);
    const verdict = await upstreamVerdict(own, {
      req,
      path,
      params: body.params,
      runtime,
      requestId,
      client,
    });
    // A binding that cannot be said in `cnf` is never answered as a bearer token.
    if (own === undefined || verdict === false || confirmationOf(own.claims).kind === 'unknown') {
      sendJson(res, 200, { active: false }, NO_STORE);
      return;
    }
    sendJson(res, 200, activeAnswer(own.claims, config.issuer), NO_STORE);
  } catch (error) {
    req.resume();
    sendOAuthError(
      res,
      error instanceof OAuthError ? error : internalError('the introspection request failed'),
    );
  }
}
