/**
 * The authorization endpoint for clients held to a profile (RFC 9126 §4, FAPI 2.0 §5.3.2.2):
 * only a request_uri scopegate's PAR endpoint answered counts. It is taken once; the query the
 * upstream receives is the pushed parameters, never the browser's, with scopegate's own `state`
 * so that the authorization response, whatever path it comes back on, names the authorization
 * it answers (relay/profile-response.ts binds its code).
 *
 * Upstreams that send the browser back to their authorization endpoint after the login
 * (glewlwyd's `g_continue`) resume an authorization under way: recognised by scopegate's state,
 * the query is built again from what was pushed, and only parameters that are no authorization
 * parameters (the upstream's own) are added. A request that is neither is refused with a plain
 * 400: its redirect_uri was never checked, so no error is redirected to it (RFC 9126 §4).
 */
import { randomBytes } from 'node:crypto';
import { canonicalParamName } from '../../http/canonical-param.js';
import { invalidRequest, OAuthError } from '../../http/oauth-error.js';
import { profileOf } from '../../issued/client-profile.js';
import { AUTHORIZATION_STATE_PREFIX } from '../../rules/security-profile.js';
import type {
  FlowBinding,
  PendingAuthorization,
  PushedRequest,
} from '../../runtime/authorization-store.js';
import type { Runtime } from '../../runtime/runtime.js';

/**
 * Parameters of an authorization request (RFC 6749, OpenID Connect Core §3.1.2.1, RFC 7636,
 * RFC 8707, RFC 9101, RFC 9126, RFC 9396, RFC 9449): on a resumed request, none of them may
 * differ from what was pushed, so none is taken from the browser.
 */
const AUTHORIZATION_PARAMETERS: ReadonlySet<string> = new Set([
  'response_type',
  'response_mode',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'display',
  'prompt',
  'max_age',
  'ui_locales',
  'claims_locales',
  'id_token_hint',
  'login_hint',
  'acr_values',
  'claims',
  'registration',
  'request',
  'request_uri',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'audience',
  'authorization_details',
  'dpop_jkt',
]);

const unknownRequestUri = () =>
  new OAuthError(
    'invalid_request_uri',
    'the request_uri is unknown, was used already or has expired',
    400,
  );

function bindingOf(pushed: FlowBinding): FlowBinding {
  return {
    clientId: pushed.clientId,
    redirectUri: pushed.redirectUri,
    codeChallenge: pushed.codeChallenge,
    ...(pushed.dpopJkt === undefined ? {} : { dpopJkt: pushed.dpopJkt }),
  };
}

/** The one value of `name`, undefined when absent; repeated is refused. */
function single(params: readonly (readonly [string, string])[], name: string): string | undefined {
  const values = params.filter(([key]) => key === name).map(([, value]) => value);
  if (values.length > 1) throw invalidRequest(`parameter "${name}" is repeated`);
  return values[0] === '' ? undefined : values[0];
}

/** Starts the authorization a pushed request describes: the query for the upstream. */
async function startPushed(pushed: PushedRequest, runtime: Runtime): Promise<[string, string][]> {
  const handle = `${AUTHORIZATION_STATE_PREFIX}${randomBytes(32).toString('base64url')}`;
  const clientState = pushed.params.find(([name]) => name === 'state')?.[1];
  const upstreamParams: [string, string][] = [
    ...pushed.params.filter(([name]) => name !== 'state'),
    ['state', handle],
  ];
  const pending: PendingAuthorization = {
    ...bindingOf(pushed),
    ...(clientState === undefined ? {} : { clientState }),
    upstreamParams,
  };
  const until = Date.now() + runtime.config.pushed_authorization.login_timeout;
  await runtime.authorizationStore.put('pending', handle, pending, until);
  return upstreamParams;
}

/**
 * The query the upstream's authorization endpoint receives for this request, or undefined when
 * no profile holds its client (the request is proxied as it came). Throws the OAuth error that
 * refuses it.
 */
export async function pushedAuthorizationQuery(
  query: readonly (readonly [string, string])[],
  bodyParams: readonly (readonly [string, unknown])[],
  runtime: Runtime,
): Promise<[string, string][] | undefined> {
  const { config } = runtime;
  const bodyClient = bodyParams.find(([name]) => canonicalParamName(name) === 'client_id')?.[1];
  if (
    bodyParams.length > 0 &&
    profileOf(config, typeof bodyClient === 'string' ? bodyClient : undefined) !== undefined
  ) {
    throw invalidRequest(
      'push the authorization request (PAR), then send client_id and request_uri in the query',
    );
  }
  const clientId = single(query, 'client_id');
  if (profileOf(config, clientId) === undefined) return undefined;
  if (clientId === undefined) throw invalidRequest('client_id is required');
  if (bodyParams.length > 0) {
    throw invalidRequest('authorization parameters in a body are refused under the fapi2 profile');
  }
  const requestUri = single(query, 'request_uri');
  if (requestUri !== undefined) {
    const pushed = await runtime.authorizationStore.take('pushed', requestUri);
    if (pushed === undefined) throw unknownRequestUri();
    if (pushed.clientId !== clientId) {
      throw new OAuthError(
        'invalid_request_uri',
        'the request_uri was pushed by another client',
        400,
      );
    }
    return startPushed(pushed, runtime);
  }
  const state = single(query, 'state');
  if (state?.startsWith(AUTHORIZATION_STATE_PREFIX)) {
    const pending = await runtime.authorizationStore.peek('pending', state);
    if (pending !== undefined && pending.clientId === clientId) {
      const extras = query.filter(
        ([name]) => !AUTHORIZATION_PARAMETERS.has(canonicalParamName(name)),
      );
      return [...pending.upstreamParams, ...extras.map(([n, v]): [string, string] => [n, v])];
    }
  }
  throw invalidRequest(
    'this client is held to the fapi2 profile: push the authorization request (PAR) and send its request_uri',
  );
}
