/**
 * The upstream's ID token, verified and re-signed by scopegate (OpenID Connect Core §3.1.3.7):
 * clients validate ID tokens against the issuer and keys they discovered, which are
 * scopegate's. The upstream's is checked first (upstream keys and issuer, aud = the client the
 * upstream authenticated, azp when there are several audiences, exp); then scopegate's token is
 * built from the allowlist in id-token-claims.ts (protocol claims, and the identity claims the
 * issued scopes release), never from the upstream's claims as a whole.
 */
import { createHash } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';
import type { SigningKey } from '../keys/signing-keys.js';
import { idTokenClaims } from '../rules/id-token-claims.js';
import type { ConfiguredIdentityClaims } from '../rules/identity-claims.js';
import type { UpstreamKeys } from '../upstream/upstream-keys.js';
import { UpstreamTokenRejected, verifyUpstreamToken } from '../upstream/verify-upstream.js';

export interface IdTokenInput {
  idToken: unknown;
  keys: UpstreamKeys;
  upstreamIssuer: string;
  algorithms: readonly string[];
  clockToleranceSec: number;
  /** The client the verified access token was issued to. */
  clientId: string | undefined;
  /** The subject of the verified access token, when it names one. */
  subject: string | undefined;
  /** scopegate's access token as the client receives it. */
  accessToken: string;
  issuer: string;
  key: SigningKey;
  nowSec: number;
  /** tokens.max_lifetime in seconds: the ID token's exp is bounded like the access token's. */
  maxLifetimeSec: number;
  /** The scopes issued to the client: what decides its identity claims. */
  issuedScopes: readonly string[];
  identityClaims: ConfiguredIdentityClaims;
}

/** The hash OpenID Connect Core §3.1.3.6 names for an algorithm (Ed25519: SHA-512). */
function hashFor(alg: string): 'sha256' | 'sha384' | 'sha512' {
  if (alg.endsWith('384')) return 'sha384';
  if (alg.endsWith('512') || alg === 'EdDSA') return 'sha512';
  return 'sha256';
}

/** at_hash / c_hash: the left half of the hash of the ASCII value, base64url. */
export function halfHash(value: string, alg: string): string {
  const digest = createHash(hashFor(alg)).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function audiences(aud: JWTPayload['aud']): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud : [];
}

interface VerifiedIdToken {
  claims: JWTPayload;
  sub: string;
  clientId: string;
}

async function verifiedIdToken(input: IdTokenInput): Promise<VerifiedIdToken> {
  const claims = await verifyUpstreamToken(input.idToken, {
    keys: input.keys,
    issuer: input.upstreamIssuer,
    algorithms: input.algorithms,
    clockToleranceSec: input.clockToleranceSec,
    // An ID token is only re-signed, not relied on for access: any time left is enough.
    minLifetimeSec: 0,
    audiences: [],
  });
  const aud = audiences(claims.aud);
  if (input.clientId === undefined || !aud.includes(input.clientId)) {
    throw new UpstreamTokenRejected('id_token audience is not the client');
  }
  if (aud.length > 1 && claims.azp !== input.clientId) {
    throw new UpstreamTokenRejected('id_token azp is not the client');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new UpstreamTokenRejected('id_token has no sub');
  }
  if (input.subject !== undefined && claims.sub !== input.subject) {
    throw new UpstreamTokenRejected('id_token and access token name different subjects');
  }
  return { claims, sub: claims.sub, clientId: input.clientId };
}

export async function reissueIdToken(input: IdTokenInput): Promise<string> {
  const verified = await verifiedIdToken(input);
  const payload = idTokenClaims(verified.claims, {
    issuer: input.issuer,
    clientId: verified.clientId,
    sub: verified.sub,
    nowSec: input.nowSec,
    maxLifetimeSec: input.maxLifetimeSec,
    atHash: halfHash(input.accessToken, input.key.alg),
    issuedScopes: input.issuedScopes,
    identityClaims: input.identityClaims,
  });
  return new SignJWT(payload)
    .setProtectedHeader({ alg: input.key.alg, kid: input.key.kid, typ: 'JWT' })
    .sign(input.key.privateKey);
}
