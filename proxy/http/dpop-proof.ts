/**
 * A DPoP proof (RFC 9449 §4), checked as §4.3 lists: one compact JWS, `typ` dpop+jwt, an
 * allowed asymmetric `alg`, a public `jwk` in the header that verifies the signature, `htm` the
 * request's method, `htu` the endpoint's URL as scopegate publishes it, `iat` inside the window,
 * a `jti`, and `ath` over the access token when one is presented with it. What is checked here
 * needs no state: the `jti`'s first use and the nonce are the caller's (endpoints/dpop-check.ts).
 *
 * The header and payload are read as untrusted JSON (no prototypes, no repeated member: readers
 * disagree on which one counts), and the key is taken only from the proof's own `jwk`, which may
 * hold public members only.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, importJWK, type JWK } from 'jose';
import { duplicateJsonKey } from './json-duplicates.js';
import { parseUntrustedObject } from './untrusted-json.js';

/** Why a proof was refused, in words a client may see (never the proof itself). */
export class DpopProofRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'DpopProofRefused';
  }
}

export interface ProofExpectations {
  /** The request's method (htm). */
  method: string;
  /** The endpoint's URL as scopegate publishes it (htu), never built from the Host header. */
  url: string;
  /** Allowed `alg` values: asymmetric ones only (the configuration offers no other). */
  algorithms: readonly string[];
  nowMs: number;
  /** Oldest an `iat` may be. */
  maxAgeMs: number;
  /** How far an `iat` may be in the future, and older than maxAgeMs. */
  skewMs: number;
  /** The access token presented with the proof, at a resource (its hash must be `ath`). */
  accessToken?: string | undefined;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` binds. */
  jkt: string;
  jti: string;
  /** Seconds. */
  iat: number;
  /** The nonce the proof carries, unchecked. */
  nonce: string | undefined;
  /** The proof's normalised htu: part of its replay key. */
  htu: string;
}

/** A proof is a few hundred bytes (an RSA-4096 key about a kilobyte): longer is refused unread. */
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Members of private (or symmetric) JWKs: a proof's key must be public (RFC 9449 §4.3 item 7). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** RFC 7636-style base64url SHA-256 of an access token: a proof's `ath` (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * A URL as RFC 9449 §4.3 compares `htu`: without query and fragment, scheme and host in lower
 * case, no default port (WHATWG URL does these), and the path's percent-encodings normalised
 * (RFC 3986 §6.2.2: unreserved characters decoded, hex digits upper case). Undefined when it is
 * not an absolute http(s) URL.
 */
export function normalisedHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match: string, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}

function segmentObject(segment: string, what: string): Record<string, unknown> {
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = parseUntrustedObject(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) throw new DpopProofRefused(`the proof ${what} is not a JSON object`);
  if (duplicateJsonKey(text) !== undefined) {
    throw new DpopProofRefused(`the proof ${what} repeats a member`);
  }
  return parsed;
}

/** The proof's `jwk`: a public key of a type that signs with the proof's `alg`. */
function publicJwkOf(header: Record<string, unknown>): JWK {
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new DpopProofRefused('the proof has no jwk header');
  }
  const members = jwk as Record<string, unknown>;
  if (PRIVATE_JWK_MEMBERS.some((name) => Object.hasOwn(members, name))) {
    throw new DpopProofRefused('the proof jwk holds private key material');
  }
  if (typeof members.kty !== 'string' || !PUBLIC_KEY_TYPES.has(members.kty)) {
    throw new DpopProofRefused('the proof jwk is not an EC, RSA or OKP public key');
  }
  return members as JWK;
}

function checkedHeader(
  header: Record<string, unknown>,
  algorithms: readonly string[],
): { alg: string; jwk: JWK } {
  if (header.typ !== 'dpop+jwt') throw new DpopProofRefused('the proof typ is not dpop+jwt');
  const alg = header.alg;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    throw new DpopProofRefused(`the proof alg is not one of ${algorithms.join(' ')}`);
  }
  // No extension scopegate would have to understand (RFC 7515 §4.1.11).
  if (Object.hasOwn(header, 'crit')) throw new DpopProofRefused('the proof has a crit header');
  return { alg, jwk: publicJwkOf(header) };
}

async function verifiedPayload(
  proof: string,
  alg: string,
  jwk: JWK,
): Promise<Record<string, unknown>> {
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    throw new DpopProofRefused('the proof jwk is not a usable key for its alg');
  }
  try {
    await compactVerify(proof, key, { algorithms: [alg] });
  } catch {
    throw new DpopProofRefused('the proof signature does not verify');
  }
  const payload = proof.split('.')[1] ?? '';
  return segmentObject(payload, 'payload');
}

function checkedClaims(
  claims: Record<string, unknown>,
  expected: ProofExpectations,
): { jti: string; iat: number; htu: string; nonce: string | undefined } {
  const { jti, htm, htu, iat, nonce, ath } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    throw new DpopProofRefused('the proof has no usable jti');
  }
  if (htm !== expected.method) throw new DpopProofRefused('the proof htm is not this method');
  const given = typeof htu === 'string' ? normalisedHtu(htu) : undefined;
  if (given === undefined || given !== normalisedHtu(expected.url)) {
    throw new DpopProofRefused(`the proof htu is not ${expected.url}`);
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new DpopProofRefused('the proof has no iat');
  }
  const iatMs = iat * 1000;
  if (iatMs > expected.nowMs + expected.skewMs) {
    throw new DpopProofRefused('the proof iat is in the future');
  }
  if (iatMs < expected.nowMs - expected.maxAgeMs - expected.skewMs) {
    throw new DpopProofRefused('the proof is too old (iat)');
  }
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce === '')) {
    throw new DpopProofRefused('the proof nonce is not a string');
  }
  if (expected.accessToken !== undefined && ath !== accessTokenHash(expected.accessToken)) {
    throw new DpopProofRefused('the proof ath is not the hash of this access token');
  }
  return { jti, iat, htu: given, nonce };
}

export async function verifyDpopProof(
  proof: string,
  expected: ProofExpectations,
): Promise<VerifiedProof> {
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) {
    throw new DpopProofRefused('the proof is not a compact JWS');
  }
  const header = segmentObject(proof.split('.')[0] ?? '', 'header');
  const { alg, jwk } = checkedHeader(header, expected.algorithms);
  const claims = checkedClaims(await verifiedPayload(proof, alg, jwk), expected);
  return { ...claims, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}
