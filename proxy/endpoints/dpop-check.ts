/**
 * DPoP proofs at the endpoints scopegate answers itself (RFC 9449): the token endpoint, as the
 * authorization server that binds tokens, and userinfo, as a resource server that accepts them.
 * One place decides, for both:
 *
 * - the request carries at most one `DPoP` header (§4.3 item 1);
 * - the proof verifies (http/dpop-proof.ts) against `tokens.dpop` and the endpoint's URL as
 *   scopegate publishes it, never the request's Host header;
 * - with `tokens.dpop.nonce`, it carries a nonce scopegate issued, or the answer is
 *   `use_dpop_nonce` with a fresh one (§8, §9);
 * - its `jti` is used once (§11.1), at every replica when `tokens.replay.store` is redis: the
 *   replay key is the proof's key thumbprint, its htu and its jti, so two keys' proofs never
 *   collide.
 *
 * Refusals are said the way each role says them: `400 invalid_dpop_proof` at the token endpoint
 * (§5), `401` with a `WWW-Authenticate: DPoP` challenge at a resource (§7.1).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';
import { DpopNonces } from '../http/dpop-nonce.js';
import { DpopProofRefused, type VerifiedProof, verifyDpopProof } from '../http/dpop-proof.js';
import { OAuthError } from '../http/oauth-error.js';
import type { Runtime } from '../runtime/runtime.js';

/** Which role scopegate plays for the proof: how a refusal is said. */
export type ProofRole = 'token' | 'resource';

export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token';

const noncesByConfig = new WeakMap<Config, DpopNonces | null>();

/** The nonce issuer of this configuration, or undefined when nonces are off. */
function noncesOf(config: Config): DpopNonces | undefined {
  let nonces = noncesByConfig.get(config);
  if (nonces === undefined) {
    const settings = config.tokens.dpop.nonce;
    nonces =
      settings?.key === undefined
        ? null
        : new DpopNonces(Buffer.from(settings.key, 'base64url'), settings.lifetime);
    noncesByConfig.set(config, nonces);
  }
  return nonces ?? undefined;
}

/** `DPoP-Nonce` for an answer (§8: also on successful ones), when nonces are on. */
export function dpopNonceHeader(config: Config, nowMs = Date.now()): Record<string, string> {
  const nonces = noncesOf(config);
  return nonces === undefined ? {} : { 'dpop-nonce': nonces.current(nowMs) };
}

/**
 * A refusal in the words of the role. At a resource, the challenge names the algorithms accepted
 * (§7.1 `algs`); the description is already in the RFC 6749 §5.2 set, so it can be quoted.
 */
export function dpopError(
  role: ProofRole,
  code: DpopErrorCode,
  description: string,
  config: Config,
): OAuthError {
  const error = new OAuthError(code, description, role === 'token' ? 400 : 401);
  if (role === 'resource') {
    const algs = config.tokens.dpop.algorithms.join(' ');
    error.headers['www-authenticate'] =
      `DPoP error="${code}", error_description="${error.description}", algs="${algs}"`;
  }
  if (code === 'use_dpop_nonce') Object.assign(error.headers, dpopNonceHeader(config));
  return error;
}

/** The one `DPoP` header value, or undefined when there is none. */
function proofHeaderOf(req: IncomingMessage, role: ProofRole, config: Config): string | undefined {
  const values = req.headersDistinct.dpop;
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) {
    throw dpopError(role, 'invalid_dpop_proof', 'more than one DPoP header', config);
  }
  return values[0];
}

/** Whether the request carries a DPoP header at all (one or more). */
export function hasDpopHeader(req: IncomingMessage): boolean {
  return req.headersDistinct.dpop !== undefined;
}

/** The key a proof's single use is remembered by: its key, where it was for, and its jti. */
function replayKey(proof: VerifiedProof): string {
  return createHash('sha256')
    .update(`${proof.jkt}\n${proof.htu}\n${proof.jti}`)
    .digest('base64url');
}

export interface ProofTarget {
  /** The endpoint's URL as scopegate publishes it. */
  url: string;
  /** At a resource: the access token presented with the proof (`ath`). */
  accessToken?: string | undefined;
}

/**
 * The verified proof of a request, or undefined when it carries none. Throws the role's
 * refusal; `503` when the replay check cannot be made (never taken for a first use).
 */
export async function checkDpopProof(
  req: IncomingMessage,
  runtime: Runtime,
  role: ProofRole,
  target: ProofTarget,
): Promise<VerifiedProof | undefined> {
  const { config } = runtime;
  const header = proofHeaderOf(req, role, config);
  if (header === undefined) return undefined;
  const settings = config.tokens.dpop;
  const nowMs = Date.now();
  let proof: VerifiedProof;
  try {
    proof = await verifyDpopProof(header, {
      method: req.method ?? '',
      url: target.url,
      algorithms: settings.algorithms,
      nowMs,
      maxAgeMs: settings.max_age,
      skewMs: settings.clock_skew,
      accessToken: target.accessToken,
    });
  } catch (error) {
    if (error instanceof DpopProofRefused) {
      throw dpopError(role, 'invalid_dpop_proof', error.message, config);
    }
    throw error;
  }
  // Before the replay check: a proof sent without the nonce does not use up a jti.
  const nonces = noncesOf(config);
  if (nonces !== undefined && (proof.nonce === undefined || !nonces.accepts(proof.nonce, nowMs))) {
    throw dpopError(
      role,
      'use_dpop_nonce',
      proof.nonce === undefined
        ? 'the proof must carry the DPoP-Nonce scopegate sent'
        : 'the proof nonce is unknown or expired',
      config,
    );
  }
  // Remembered until no proof with this iat would be accepted anyway.
  const untilMs = Math.max(proof.iat * 1000, nowMs) + settings.max_age + settings.clock_skew;
  if (!(await runtime.replayGuard.firstUse('dpop', replayKey(proof), untilMs))) {
    throw dpopError(role, 'invalid_dpop_proof', 'the proof has been used before (jti)', config);
  }
  return proof;
}
