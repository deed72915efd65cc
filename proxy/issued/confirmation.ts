/**
 * The key a token scopegate issues is bound to (RFC 7800 `cnf`): the one definition of what that
 * claim may hold. scopegate sets it from what the client proved to scopegate itself, never from
 * the upstream's claims: a DPoP proof's key (`jkt`, RFC 9449 §6) or a TLS client certificate
 * (`x5t#S256`, RFC 8705 §3.1). The upstream never sees either (the DPoP header is not forwarded,
 * and mutual TLS ends at scopegate), so a `cnf` it wrote could only name a key the client never
 * showed scopegate.
 *
 * Built from an allowlist: only these members, only as non-empty base64url strings.
 */
import type { JWTPayload } from 'jose';

export interface Confirmation {
  /** RFC 7638 SHA-256 thumbprint of the DPoP proof key. */
  jkt?: string;
  /** SHA-256 thumbprint of the client's X.509 certificate. */
  'x5t#S256'?: string;
}

export const CONFIRMATION_MEMBERS = ['jkt', 'x5t#S256'] as const;

/** A SHA-256 thumbprint, base64url without padding: 43 characters. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** The `cnf` claim for a confirmation, or undefined when it binds nothing. */
export function confirmationClaim(
  confirmation: Confirmation | undefined,
): Record<string, string> | undefined {
  if (confirmation === undefined) return undefined;
  const claim: Record<string, string> = {};
  for (const member of CONFIRMATION_MEMBERS) {
    const value = confirmation[member];
    if (value === undefined) continue;
    if (!THUMBPRINT.test(value)) throw new Error(`cnf.${member} is not a SHA-256 thumbprint`);
    claim[member] = value;
  }
  return Object.keys(claim).length > 0 ? claim : undefined;
}

export type ConfirmationRead =
  | { kind: 'none' }
  | { kind: 'bound'; confirmation: Confirmation }
  /** A `cnf` scopegate cannot check (another member, or malformed): never taken for unbound. */
  | { kind: 'unknown' };

/** The binding a verified token carries. */
export function confirmationOf(claims: Readonly<JWTPayload>): ConfirmationRead {
  if (!Object.hasOwn(claims, 'cnf')) return { kind: 'none' };
  const cnf = claims.cnf;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return { kind: 'unknown' };
  const members = Object.keys(cnf);
  const known = new Set<string>(CONFIRMATION_MEMBERS);
  if (members.length === 0 || members.some((name) => !known.has(name))) return { kind: 'unknown' };
  const confirmation: Confirmation = {};
  for (const member of CONFIRMATION_MEMBERS) {
    const value = (cnf as Record<string, unknown>)[member];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !THUMBPRINT.test(value)) return { kind: 'unknown' };
    confirmation[member] = value;
  }
  return { kind: 'bound', confirmation };
}

/** RFC 9449 §5: a token bound to a DPoP key is of type DPoP; any other (mTLS too) is Bearer. */
export function tokenTypeOf(claims: Readonly<JWTPayload>): 'DPoP' | 'Bearer' {
  const read = confirmationOf(claims);
  return read.kind === 'bound' && read.confirmation.jkt !== undefined ? 'DPoP' : 'Bearer';
}
