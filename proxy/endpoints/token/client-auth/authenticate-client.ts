/**
 * Client authentication by scopegate, for clients whose rule sets `token_endpoint_auth_method`:
 * the request must use exactly that method, and scopegate checks it:
 *
 * - private_key_jwt, client_secret_jwt: the assertion (client-assertion.ts);
 * - client_secret_basic, client_secret_post with `upstream_auth`: the secret, in constant time;
 *   without `upstream_auth` the upstream checks the secret as received, scopegate only holds
 *   the client to its method;
 * - tls_client_auth, self_signed_tls_client_auth: the TLS client certificate
 *   (certificate-auth.ts), the request naming its client_id and presenting no other credentials
 *   (RFC 8705 §2);
 * - none: no credentials at all.
 *
 * A client without such a rule is not scopegate's to authenticate: its credentials go to the
 * upstream as received, as before (the answer is undefined). Which rule applies never depends on
 * the audience asked for (config/schema.ts refuses an authentication method on a rule with one).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ClientRuleConfig, Config } from '../../../../config/schema.js';
import { ClientAuthenticationFailed } from '../../../http/oauth-error.js';
import {
  type ClientAuthMethod,
  isJwtMethod,
  isTlsMethod,
} from '../../../rules/client-auth-methods.js';
import type { Runtime } from '../../../runtime/runtime.js';
import { namedClient } from '../token-request.js';
import type { AuthenticatedClient } from './authenticated-client.js';
import { certificateReaderOf, verifyCertificateAuthentication } from './certificate-auth.js';
import { verifyClientAssertion } from './client-assertion.js';
import { type PresentedCredentials, presentedCredentials } from './presented-credentials.js';

/** The rule of each client that says how it authenticates, built once per configuration. */
const authenticationRules = new WeakMap<Config, Map<string, ClientRuleConfig>>();

export function authenticationRuleFor(
  config: Config,
  clientId: string,
): ClientRuleConfig | undefined {
  let rules = authenticationRules.get(config);
  if (rules === undefined) {
    rules = new Map();
    for (const rule of config.clients) {
      if (rule.token_endpoint_auth_method !== undefined) rules.set(rule.client_id, rule);
    }
    authenticationRules.set(config, rules);
  }
  return rules.get(clientId);
}

function sameSecret(presented: string, configured: string): boolean {
  // Digests first: equal lengths for timingSafeEqual, and the length of neither is told.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(configured).digest();
  return timingSafeEqual(a, b);
}

function usedMethodMatches(method: ClientAuthMethod, used: PresentedCredentials['used']): boolean {
  if (isJwtMethod(method)) return used === 'jwt';
  // Mutual TLS: the body names the client and carries no other credentials (RFC 8705 §2).
  if (isTlsMethod(method)) return used === 'none';
  return used === method;
}

/**
 * The client of a request to the token, PAR, revocation or introspection endpoint, authenticated
 * by scopegate when its rule names a method; undefined for clients the upstream authenticates.
 * `params` is the request's form; credentials may also come in its Authorization header or its
 * client certificate (read only when a TLS method needs it).
 */
export async function authenticateClient(
  req: IncomingMessage,
  params: ReadonlyMap<string, string>,
  runtime: Runtime,
): Promise<AuthenticatedClient | undefined> {
  const authorization = req.headers.authorization;
  const certificate = certificateReaderOf(req, runtime);
  const clientId = namedClient(params as Map<string, string>, authorization);
  if (clientId === undefined) return undefined;
  const rule = authenticationRuleFor(runtime.config, clientId);
  const method = rule?.token_endpoint_auth_method;
  if (rule === undefined || method === undefined) return undefined;
  const presented = presentedCredentials(params, authorization);
  const basicChallenge = presented.used === 'client_secret_basic';
  if (!usedMethodMatches(method, presented.used)) {
    throw new ClientAuthenticationFailed(
      basicChallenge,
      `this client must authenticate with ${method}`,
    );
  }
  const verifiedHere =
    isJwtMethod(method) || isTlsMethod(method) || rule.upstream_auth !== undefined;
  if (isTlsMethod(method)) {
    verifyCertificateAuthentication(method, rule, certificate);
  } else if (isJwtMethod(method)) {
    await verifyClientAssertion(
      presented.assertion,
      presented.assertionType,
      method,
      rule,
      runtime,
    );
  } else if (verifiedHere && method !== 'none') {
    const secret =
      method === 'client_secret_basic' ? presented.basic?.secret : presented.postedSecret;
    if (secret === undefined || !sameSecret(secret, rule.client_secret as string)) {
      throw new ClientAuthenticationFailed(basicChallenge);
    }
  }
  return {
    clientId,
    method,
    rule,
    upstreamClientId: rule.upstream_auth?.client_id ?? clientId,
    verifiedHere,
  };
}
