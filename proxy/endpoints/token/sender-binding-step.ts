/**
 * Step "sender binding": DPoP (RFC 9449) at the token endpoint, with scopegate as the binding
 * authority whatever the upstream knows. The proof is checked before anything is forwarded (the
 * upstream never sees it: forward-upstream.ts does not forward the header), and the token
 * scopegate issues is bound to the proof's key (`cnf.jkt`, `token_type: DPoP`).
 *
 * Per client (`clients[].dpop`, the client the request names before forwarding, the verified
 * one after):
 * - `allowed` (default): a proof, when sent, binds the token; without one the token is Bearer;
 * - `required`: a request without a proof is `invalid_dpop_proof` (RFC 9449 §5.2 says such a
 *   client's requests without a DPoP header are rejected, and names no other code);
 * - `off`: a request with a proof is refused rather than answered with an unbound token. §5
 *   lets a server that does not bind answer `Bearer`, but a client that sent a proof may well
 *   treat what comes back as bound: refusing says so before any token exists.
 *
 * Token exchange keeps a subject's binding: a subject bound to a DPoP key is exchanged only with a
 * proof by that key, and the new token is bound to it too; an unbound subject exchanged with a
 * proof gets a token bound to the proof's key (as any grant would).
 *
 * Refresh tokens (RFC 9449 §5): a public client's (one that does not authenticate) is bound to
 * the key of the proof it was issued with, and a refresh must be proved with that key; a
 * confidential client's refresh is bound by its authentication, and each access token is bound
 * to the key of the proof presented for it.
 */
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import { DEFAULTS } from '../../../config/defaults.js';
import type { Config } from '../../../config/schema.js';
import type { VerifiedProof } from '../../http/dpop-proof.js';
import { invalidRequest, OAuthError } from '../../http/oauth-error.js';
import { clientRuleFor } from '../../issued/client-rule.js';
import { type Confirmation, confirmationOf } from '../../issued/confirmation.js';
import type { RefreshBinding } from '../../issued/refresh-token.js';
import type { Runtime } from '../../runtime/runtime.js';
import { issuerUrl } from '../../upstream/discovery.js';
import { checkDpopProof, dpopError, hasDpopHeader } from '../dpop-check.js';
import type { TokenRequest } from './token-request.js';

export type DpopMode = 'required' | 'allowed' | 'off';

export function dpopModeOf(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): DpopMode {
  return clientRuleFor(config, clientId, audiences)?.dpop ?? DEFAULTS.client.dpop;
}

/** scopegate's token endpoint as discovery advertises it: what a proof's htu must name. */
export function tokenEndpointUrl(runtime: Runtime): string {
  return issuerUrl(runtime.config.issuer, runtime.tokenPath);
}

function refusal(mode: DpopMode, config: Config): OAuthError | undefined {
  if (mode === 'off') {
    return dpopError('token', 'invalid_dpop_proof', 'DPoP is not enabled for this client', config);
  }
  return undefined;
}

function missing(config: Config): OAuthError {
  return dpopError('token', 'invalid_dpop_proof', 'this client must send a DPoP proof', config);
}

/**
 * Before forwarding: the request's proof, verified and used up, or undefined when it has none.
 * Decided for the client the request names; confirmationFor decides again for the verified one.
 */
export async function readSenderProof(
  req: IncomingMessage,
  request: TokenRequest,
  runtime: Runtime,
): Promise<VerifiedProof | undefined> {
  const { config } = runtime;
  const mode = dpopModeOf(config, request.clientIdHint, request.audiences);
  if (hasDpopHeader(req)) {
    const refused = refusal(mode, config);
    if (refused !== undefined) throw refused;
  }
  const proof = await checkDpopProof(req, runtime, 'token', { url: tokenEndpointUrl(runtime) });
  if (proof === undefined && mode === 'required') throw missing(config);
  return proof;
}

/** After verifying the upstream's token: what the issued token is bound to, for its client. */
export function confirmationFor(
  proof: VerifiedProof | undefined,
  clientId: string | undefined,
  audiences: readonly string[],
  config: Config,
): Confirmation | undefined {
  const mode = dpopModeOf(config, clientId, audiences);
  if (proof === undefined) {
    if (mode === 'required') throw missing(config);
    return undefined;
  }
  const refused = refusal(mode, config);
  if (refused !== undefined) throw refused;
  return { jkt: proof.jkt };
}

/**
 * A refresh token bound to a DPoP key is refreshed only with a proof by that key (RFC 9449 §5);
 * otherwise `invalid_grant`, as for a token issued to another client.
 */
export function checkRefreshKey(
  binding: RefreshBinding | undefined,
  proof: VerifiedProof | undefined,
): void {
  if (binding?.jkt === undefined) return;
  if (proof === undefined) {
    throw new OAuthError(
      'invalid_grant',
      'the refresh token is bound to a DPoP key: send a proof',
      400,
    );
  }
  if (proof.jkt !== binding.jkt) {
    throw new OAuthError('invalid_grant', 'the refresh token is bound to another DPoP key', 400);
  }
}

/** Whether the request authenticates its client (HTTP Basic, a secret or an assertion). */
function authenticatesClient(req: IncomingMessage, request: TokenRequest): boolean {
  const params = request.body.params;
  return (
    req.headers.authorization !== undefined ||
    params.has('client_secret') ||
    params.has('client_assertion')
  );
}

/** The key a new grant's refresh token is bound to: a public client's proof key, else none. */
export function refreshKeyFor(
  req: IncomingMessage,
  request: TokenRequest,
  proof: VerifiedProof | undefined,
): string | undefined {
  return proof !== undefined && !authenticatesClient(req, request) ? proof.jkt : undefined;
}

/**
 * Token exchange (RFC 8693): the binding of the new token, from the subject's and the request's
 * proof. A subject bound in a way scopegate cannot check here (a certificate, an unknown `cnf`)
 * is refused: exchanged, it would come back usable without what it was bound to.
 */
export async function exchangeConfirmation(
  req: IncomingMessage,
  runtime: Runtime,
  subjectClaims: Readonly<JWTPayload>,
  clientId: string | undefined,
  audiences: readonly string[],
): Promise<Confirmation | undefined> {
  const { config } = runtime;
  const subject = confirmationOf(subjectClaims);
  if (
    subject.kind === 'unknown' ||
    (subject.kind === 'bound' && subject.confirmation['x5t#S256'] !== undefined)
  ) {
    throw invalidRequest('this sender-constrained subject_token cannot be exchanged');
  }
  const proof = await checkDpopProof(req, runtime, 'token', { url: tokenEndpointUrl(runtime) });
  if (subject.kind === 'none') return confirmationFor(proof, clientId, audiences, config);
  const { jkt } = subject.confirmation;
  if (proof === undefined) {
    throw dpopError(
      'token',
      'invalid_dpop_proof',
      'the subject_token is bound to a DPoP key: send a proof by it',
      config,
    );
  }
  if (proof.jkt !== jkt) {
    throw dpopError(
      'token',
      'invalid_dpop_proof',
      'the proof key is not the one the subject_token is bound to',
      config,
    );
  }
  return { jkt: proof.jkt };
}
