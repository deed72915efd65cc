/**
 * Step "sender binding": what the token scopegate issues is bound to (RFC 7800 `cnf`), with
 * scopegate as the binding authority whatever the upstream knows. One binding per client, set by
 * its configuration, never by which headers a request happens to carry:
 *
 * - **A TLS client certificate** (RFC 8705 §3), for a client configured with
 *   `clients[].tls_client_certificate_bound_access_tokens: true`: its tokens carry
 *   `cnf.x5t#S256` and stay `token_type: Bearer`. A request without a certificate is
 *   `invalid_request` (the client may have authenticated well; what its request lacks is what its
 *   registration says it brings), and so is one with a DPoP proof (`invalid_dpop_proof`, as for
 *   `dpop: off`): a token bound to both would need a resource server that checks both, and one
 *   that checks only the DPoP key would take a token stolen with its proof key but not its
 *   certificate. FAPI 2.0 asks for one sender-constraining mechanism, and RFC 9449 and RFC 8705
 *   each define a token type of their own.
 * - **A DPoP key** (RFC 9449), per `clients[].dpop`, for every other client. The proof is
 *   checked before anything is forwarded (the upstream never sees it: forward-upstream.ts does
 *   not forward the header), and the token is bound to its key (`cnf.jkt`, `token_type: DPoP`):
 *   - `allowed` (default): a proof, when sent, binds the token; without one the token is Bearer;
 *   - `required`: a request without a proof is `invalid_dpop_proof` (RFC 9449 §5.2 says such a
 *     client's requests without a DPoP header are rejected, and names no other code);
 *   - `off`: a request with a proof is refused rather than answered with an unbound token. §5
 *     lets a server that does not bind answer `Bearer`, but a client that sent a proof may well
 *     treat what comes back as bound: refusing says so before any token exists.
 *   A certificate such a client presents (to authenticate, say) binds nothing.
 *
 * The client is the one the request names before forwarding (to refuse early), the verified one
 * after (which decides).
 *
 * Token exchange keeps a subject's binding: a bound subject is exchanged only with the proof key
 * or certificate it is bound to, and the new token is bound to it too; an unbound subject is
 * bound as any grant would be for the client.
 *
 * Refresh tokens (RFC 9449 §5, RFC 8705 §4): a public client's (one that does not authenticate)
 * is bound to the key or certificate its tokens were bound to when it was issued, and a refresh
 * must show the same; a confidential client's refresh is bound by its authentication, and each
 * access token is bound to what is presented for it (RFC 8705 §3: a certificate may be renewed).
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
import {
  type CertificateSeen,
  certificateOf,
  checkBoundCertificate,
  requiredThumbprint,
} from '../certificate-check.js';
import { checkDpopProof, dpopError, hasDpopHeader } from '../dpop-check.js';
import type { TokenRequest } from './token-request.js';

export type DpopMode = 'required' | 'allowed' | 'off';

/** How a client's tokens are bound: to its certificate, or per its DPoP mode. */
export type BindingRule = { kind: 'certificate' } | { kind: 'dpop'; mode: DpopMode };

export function bindingRuleOf(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): BindingRule {
  const rule = clientRuleFor(config, clientId, audiences);
  const certificateBound =
    rule?.tls_client_certificate_bound_access_tokens ??
    DEFAULTS.client.tls_client_certificate_bound_access_tokens;
  if (certificateBound) return { kind: 'certificate' };
  return { kind: 'dpop', mode: rule?.dpop ?? DEFAULTS.client.dpop };
}

/** What a request brings to bind a token to: a verified DPoP proof, a client certificate. */
export interface SenderEvidence {
  proof: VerifiedProof | undefined;
  /**
   * The request's client certificate, read when first asked for: most token requests never need
   * it, and reading one (a header's PEM, a TLS peer's DER) and hashing it is not free.
   */
  certificate(): CertificateSeen;
}

/** scopegate's token endpoint as discovery advertises it: what a proof's htu must name. */
export function tokenEndpointUrl(runtime: Runtime): string {
  return issuerUrl(runtime.config.issuer, runtime.tokenPath);
}

/** The refusal of a DPoP header for a client whose tokens cannot be bound to a DPoP key. */
function proofRefusal(rule: BindingRule, config: Config): OAuthError | undefined {
  if (rule.kind === 'certificate') {
    return dpopError(
      'token',
      'invalid_dpop_proof',
      "this client's tokens are bound to its TLS client certificate: send no DPoP proof",
      config,
    );
  }
  if (rule.mode === 'off') {
    return dpopError('token', 'invalid_dpop_proof', 'DPoP is not enabled for this client', config);
  }
  return undefined;
}

function missingProof(config: Config): OAuthError {
  return dpopError('token', 'invalid_dpop_proof', 'this client must send a DPoP proof', config);
}

/** The request's proof, verified and used up (undefined without one), and its certificate. */
async function readEvidence(
  req: IncomingMessage,
  runtime: Runtime,
  rule: BindingRule,
): Promise<SenderEvidence> {
  if (hasDpopHeader(req)) {
    const refused = proofRefusal(rule, runtime.config);
    if (refused !== undefined) throw refused;
  }
  const proof = await checkDpopProof(req, runtime, 'token', { url: tokenEndpointUrl(runtime) });
  let seen: CertificateSeen | undefined;
  return {
    proof,
    certificate: () => {
      seen ??= certificateOf(req, runtime);
      return seen;
    },
  };
}

/**
 * Before forwarding: the request's evidence, refused early when the client the request names
 * cannot have a token bound the way its rule says. confirmationFor decides again for the
 * verified client.
 */
export async function readSenderEvidence(
  req: IncomingMessage,
  request: TokenRequest,
  runtime: Runtime,
): Promise<SenderEvidence> {
  const rule = bindingRuleOf(runtime.config, request.clientIdHint, request.audiences);
  const evidence = await readEvidence(req, runtime, rule);
  if (rule.kind === 'certificate') requiredThumbprint(evidence.certificate(), 'token');
  if (rule.kind === 'dpop' && rule.mode === 'required' && evidence.proof === undefined) {
    throw missingProof(runtime.config);
  }
  return evidence;
}

/** After verifying the upstream's token: what the issued token is bound to, for its client. */
export function confirmationFor(
  evidence: SenderEvidence,
  clientId: string | undefined,
  audiences: readonly string[],
  config: Config,
): Confirmation | undefined {
  const rule = bindingRuleOf(config, clientId, audiences);
  const { proof } = evidence;
  if (proof !== undefined) {
    const refused = proofRefusal(rule, config);
    if (refused !== undefined) throw refused;
  }
  if (rule.kind === 'certificate') {
    return { 'x5t#S256': requiredThumbprint(evidence.certificate(), 'token') };
  }
  if (proof === undefined) {
    if (rule.mode === 'required') throw missingProof(config);
    return undefined;
  }
  return { jkt: proof.jkt };
}

/**
 * A refresh token bound to a DPoP key or a certificate is refreshed only with a proof by that key
 * or over a connection presenting that certificate (RFC 9449 §5, RFC 8705 §4); otherwise
 * `invalid_grant`, as for a token issued to another client.
 */
export function checkRefreshBinding(
  binding: RefreshBinding | undefined,
  evidence: SenderEvidence,
): void {
  if (binding?.jkt !== undefined) {
    if (evidence.proof === undefined) {
      throw new OAuthError(
        'invalid_grant',
        'the refresh token is bound to a DPoP key: send a proof',
        400,
      );
    }
    if (evidence.proof.jkt !== binding.jkt) {
      throw new OAuthError('invalid_grant', 'the refresh token is bound to another DPoP key', 400);
    }
  }
  if (binding?.x5t === undefined) return;
  const { thumbprint } = evidence.certificate();
  if (thumbprint !== binding.x5t) {
    throw new OAuthError(
      'invalid_grant',
      thumbprint === undefined
        ? 'the refresh token is bound to a TLS client certificate: present it'
        : 'the refresh token is bound to another TLS client certificate',
      400,
    );
  }
}

/**
 * Whether the request authenticates its client: scopegate authenticated it (a mutual TLS client
 * included, whose body names it only), or it carries HTTP Basic, a secret or an assertion.
 */
function authenticatesClient(req: IncomingMessage, request: TokenRequest): boolean {
  const params = request.body.params;
  return (
    (request.client !== undefined && request.client.method !== 'none') ||
    req.headers.authorization !== undefined ||
    params.has('client_secret') ||
    params.has('client_assertion')
  );
}

/**
 * What a new grant's refresh token is bound to: for a public client, what its access token is
 * bound to (a DPoP key, a certificate); for a confidential one, nothing beyond its client.
 */
export function refreshSenderFor(
  req: IncomingMessage,
  request: TokenRequest,
  confirmation: Confirmation | undefined,
): Confirmation | undefined {
  return confirmation !== undefined && !authenticatesClient(req, request)
    ? confirmation
    : undefined;
}

/**
 * Token exchange (RFC 8693): the binding of the new token. A bound subject keeps its binding, and
 * the request must show what it is bound to: a proof by its key, its certificate. A subject bound
 * in a way scopegate cannot check (an unknown `cnf`) is refused: exchanged, it would come back
 * usable without what it was bound to. RFC 8693 §2.2.2: a subject_token unacceptable for any
 * reason is `invalid_request`.
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
  if (subject.kind === 'unknown') {
    throw invalidRequest('this sender-constrained subject_token cannot be exchanged');
  }
  if (subject.kind === 'none') {
    const rule = bindingRuleOf(config, clientId, audiences);
    return confirmationFor(await readEvidence(req, runtime, rule), clientId, audiences, config);
  }
  const { jkt, 'x5t#S256': x5t } = subject.confirmation;
  // A subject bound to its certificate only is exchanged without a proof: one binding, its own.
  if (jkt === undefined && hasDpopHeader(req)) {
    throw dpopError(
      'token',
      'invalid_dpop_proof',
      'the subject_token is bound to a TLS client certificate: send no DPoP proof',
      config,
    );
  }
  const evidence = await readEvidence(req, runtime, { kind: 'dpop', mode: 'allowed' });
  if (jkt !== undefined) {
    if (evidence.proof === undefined) {
      throw dpopError(
        'token',
        'invalid_dpop_proof',
        'the subject_token is bound to a DPoP key: send a proof by it',
        config,
      );
    }
    if (evidence.proof.jkt !== jkt) {
      throw dpopError(
        'token',
        'invalid_dpop_proof',
        'the proof key is not the one the subject_token is bound to',
        config,
      );
    }
  }
  if (x5t !== undefined)
    checkBoundCertificate(evidence.certificate(), x5t, 'token', 'the subject_token');
  return subject.confirmation;
}
