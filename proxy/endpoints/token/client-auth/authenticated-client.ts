/**
 * A client scopegate authenticated: what the steps after client authentication read. Its own
 * file so that the token request can carry one without importing the authentication code.
 */
import type { ClientRuleConfig } from '../../../../config/schema.js';
import type { ClientAuthMethod } from '../../../rules/client-auth-methods.js';

/** A client scopegate authenticated (or held to its method), and the rule that says how. */
export interface AuthenticatedClient {
  clientId: string;
  method: ClientAuthMethod;
  rule: ClientRuleConfig;
  /** The client's id at the upstream: what its upstream token must name. */
  upstreamClientId: string;
  /**
   * True when scopegate checked the credentials itself (and the upstream gets scopegate's
   * credentials for the client); false when the upstream checks what the client sent.
   */
  verifiedHere: boolean;
}
