/**
 * What a request presents to authenticate its client (RFC 6749 §2.3, RFC 7521 §4.2), and which
 * method that is. A request may use one method only (RFC 6749 §2.3.1: "MUST NOT use more than
 * one authentication method in each request").
 */
import { invalidRequest } from '../../../http/oauth-error.js';
import type { ClientAuthMethod } from '../../../rules/client-auth-methods.js';
import { basicCredentials } from '../token-request.js';

export interface PresentedCredentials {
  /** The method the request used; `jwt` stands for either JWT method (the key decides which). */
  used: Exclude<ClientAuthMethod, 'client_secret_jwt' | 'private_key_jwt'> | 'jwt';
  basic: { clientId: string; secret: string } | undefined;
  postedSecret: string | undefined;
  assertion: string | undefined;
  assertionType: string | undefined;
}

export function presentedCredentials(
  params: ReadonlyMap<string, string>,
  authorization: string | undefined,
): PresentedCredentials {
  const basic = basicCredentials(authorization);
  const postedSecret = params.get('client_secret');
  const assertion = params.get('client_assertion');
  const assertionType = params.get('client_assertion_type');
  const methods = [
    basic !== undefined ? 'client_secret_basic' : undefined,
    postedSecret !== undefined ? 'client_secret_post' : undefined,
    assertion !== undefined || assertionType !== undefined ? 'jwt' : undefined,
  ].filter((method) => method !== undefined);
  if (methods.length > 1) {
    throw invalidRequest('the request uses more than one client authentication method');
  }
  return {
    used: (methods[0] as PresentedCredentials['used'] | undefined) ?? 'none',
    basic,
    postedSecret,
    assertion,
    assertionType,
  };
}
