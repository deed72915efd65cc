/**
 * How the Auth0 emulator breaks the tokens it issues, one way per TokenFault: the ways an
 * attacker or a misconfigured IdP would, for the gateway's tests to refuse. The emulator builds
 * the honest claims and keys; these functions only distort them.
 */
import { randomBytes } from 'node:crypto';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import type { TokenFault } from './auth0-emulator.js';

const EVIL_ISSUER = 'https://evil.example/';

/** What the faults sign with; declared here so this file needs no emulator internals. */
export interface FaultKeys {
  /** the key the emulator currently publishes */
  signing: { kid: string; privateKey: CryptoKey };
  /** a foreign key, never in the real JWKS */
  attacker: { kid: string; privateKey: CryptoKey; publicJwk: JWK };
  /** where the attacker's JWKS is served, for the `jku` fault */
  attackerJwksUri: string;
}

/**
 * The claims as the fault leaves them. Assigning existing keys keeps the claim order of the
 * honest token, so a faulted payload differs only where the fault says.
 */
export function faultClaims(
  fault: TokenFault,
  claims: Record<string, unknown>,
  now: number,
  lifetime: number,
): Record<string, unknown> {
  const faulted = { ...claims };
  switch (fault) {
    case 'wrong_issuer':
      faulted.iss = EVIL_ISSUER;
      break;
    case 'expired':
      faulted.iat = now - lifetime - 3600;
      faulted.exp = now - 3600;
      break;
    case 'missing_exp':
      delete faulted.exp;
      break;
  }
  return faulted;
}

/** Encodes the claims as the fault dictates: unsigned, opaque, foreign-signed or corrupted. */
export async function encodeToken(
  fault: TokenFault,
  claims: Record<string, unknown>,
  keys: FaultKeys,
): Promise<string> {
  const { signing, attacker } = keys;
  switch (fault) {
    case 'opaque':
      return randomBytes(32).toString('base64url');
    case 'alg_none':
      return new UnsecuredJWT(claims).encode();
    case 'unknown_key':
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: attacker.kid })
        .sign(attacker.privateKey);
    case 'embedded_jwk':
      return new SignJWT(claims)
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          kid: attacker.kid,
          jwk: attacker.publicJwk,
        })
        .sign(attacker.privateKey);
    case 'jku':
      return new SignJWT(claims)
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          kid: attacker.kid,
          jku: keys.attackerJwksUri,
        })
        .sign(attacker.privateKey);
    default: {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.kid })
        .sign(signing.privateKey);
      return fault === 'bad_signature' ? corruptSignature(token) : token;
    }
  }
}

/**
 * Flips bits in the last signature byte. Editing the last base64url character alone is not
 * enough: for a 256-byte RSA signature its low bits are padding a decoder ignores.
 */
export function corruptSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const last = signature.length - 1;
  signature[last] = (signature[last] ?? 0) ^ 0xff;
  return `${token.slice(0, dot + 1)}${signature.toString('base64url')}`;
}
