/**
 * Finds an upstream token in text scopegate is about to relay (a header value, a page, a JSON
 * body), without verifying anything: what is looked for is what the upstream could have produced,
 * not what is valid.
 *
 * - By name: a parameter, form field or JSON member named `access_token`, `id_token` or
 *   `refresh_token`, in any case and any escaping. Opaque tokens are recognisable no other way.
 * - By shape: any compact JWS whose header names a key of the upstream's JWKS or whose issuer
 *   (payload `iss`, or header `iss`) is the upstream's or on its origin; any compact JWE (its
 *   producer cannot be told from outside, and scopegate relays none). While the upstream's
 *   issuer is not known at all, every JWS counts as the upstream's.
 *
 * The text is read as written and again with one, two, three layers of escaping undone (percent
 * escapes, `+`, HTML character references, JavaScript `\uXXXX`/`\xXX`/`\/` escapes), so
 * `id%5Ftoken=`, `access&#95;token` and `eyJ...&#46;eyJ...` are the names and tokens they decode
 * to. Every pass is linear in the text: one regular expression without nested repetition, and a
 * single walk over runs of base64url characters.
 */
import { MAX_DECODE_LAYERS } from '../http/canonical-param.js';
import { decodeAttributeValue } from '../http/html-entities.js';

/** What identifies the upstream's tokens. */
export interface UpstreamIdentity {
  /** The upstream's issuer identifiers (pinned or discovered); empty while none is known. */
  issuers: ReadonlySet<string>;
  /** Origins of the upstream (upstream.url, the issuer's): an issuer there is the upstream's. */
  origins: ReadonlySet<string>;
  /** Key ids of the upstream's published keys (empty until its JWKS was read). */
  kids: ReadonlySet<string>;
  /** scopegate's own issuer: its own tokens are not the upstream's. */
  ownIssuer: string;
}

const TOKEN_NAMES = '(access_token|id_token|refresh_token)';
/** `access_token=`, `"id_token":`, `'refresh_token' :`, `access_token =` ... */
const NAME_ASSIGNED = new RegExp(
  `(?<![A-Za-z0-9_])${TOKEN_NAMES}(?![A-Za-z0-9_])\\s*["'\`]?\\s*[=:]`,
  'i',
);
/** `"access_token"` quoted on its own (a JSON member, a JavaScript property, a field name). */
const NAME_QUOTED = new RegExp(`["'\`]\\s*${TOKEN_NAMES}\\s*["'\`]`, 'i');
/** `name=access_token` unquoted in an HTML form field. */
const NAME_ATTRIBUTE = new RegExp(`name\\s*=\\s*${TOKEN_NAMES}(?![A-Za-z0-9_])`, 'i');

/** The token parameter name the text assigns or quotes, or undefined. */
export function tokenParameterName(text: string): string | undefined {
  const match =
    NAME_ASSIGNED.exec(text) ?? NAME_QUOTED.exec(text) ?? NAME_ATTRIBUTE.exec(text) ?? null;
  return match?.[1]?.toLowerCase();
}

function hexAt(text: string, at: number, length: number): number {
  if (at + length > text.length) return -1;
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = Number.parseInt(text.charAt(i), 16);
    if (Number.isNaN(digit)) return -1;
    value = value * 16 + digit;
  }
  return value;
}

const BACKSLASHED = new Set(['\\', '/', '"', "'", '.', '`']);

/**
 * Percent escapes, `+`, and JavaScript `\uXXXX`, `\u{X}`, `\xXX` and `\/`-style escapes, undone
 * in one walk over the text (a regular expression with a callback per match costs twenty times
 * more on a megabyte of `+`).
 */
function unescapeCodes(text: string): string {
  if (!/[%+\\]/.test(text)) return text;
  const out: string[] = [];
  let from = 0;
  const emit = (at: number, replacement: string, next: number) => {
    if (at > from) out.push(text.slice(from, at));
    out.push(replacement);
    from = next;
    return next;
  };
  for (let at = 0; at < text.length; ) {
    const char = text.charAt(at);
    if (char === '+') {
      at = emit(at, ' ', at + 1);
    } else if (char === '%') {
      const code = hexAt(text, at + 1, 2);
      at = code < 0 ? at + 1 : emit(at, String.fromCharCode(code), at + 3);
    } else if (char === '\\') {
      const kind = text.charAt(at + 1);
      if (kind === 'x') {
        const code = hexAt(text, at + 2, 2);
        at = code < 0 ? at + 1 : emit(at, String.fromCharCode(code), at + 4);
      } else if (kind === 'u' && text.charAt(at + 2) === '{') {
        const close = text.indexOf('}', at + 3);
        const code = close < 0 || close - at - 3 > 6 ? -1 : hexAt(text, at + 3, close - at - 3);
        at = code < 0 || code > 0x10ffff ? at + 1 : emit(at, String.fromCodePoint(code), close + 1);
      } else if (kind === 'u') {
        const code = hexAt(text, at + 2, 4);
        at = code < 0 ? at + 1 : emit(at, String.fromCharCode(code), at + 6);
      } else if (BACKSLASHED.has(kind)) {
        at = emit(at, kind, at + 2);
      } else {
        at += 1;
      }
    } else {
      at += 1;
    }
  }
  if (from === 0) return text;
  if (from < text.length) out.push(text.slice(from));
  return out.join('');
}

/** One layer of every escaping a relayed text may use, undone. */
export function unescapeOnce(text: string): string {
  return unescapeCodes(text.includes('&') ? decodeAttributeValue(text) : text);
}

/** The text as written, then with each further layer of escaping undone while it changes. */
export function* decodedViews(text: string): Generator<string> {
  let view = text;
  yield view;
  for (let layer = 0; layer < MAX_DECODE_LAYERS; layer++) {
    const next = unescapeOnce(view);
    if (next === view) return;
    view = next;
    yield view;
  }
}

/**
 * First characters of the base64url of a JSON object: `e` for `{`, and `I`, `C`, `D` for the
 * white space (space, tab or line feed, carriage return) a serialiser may put before it.
 */
const OBJECT_START = new Set(['e', 'I', 'C', 'D']);

function jsonObjectOf(segment: string): Record<string, unknown> | undefined {
  // Cheap tests first: most dotted runs in a page are host names and file names.
  if (segment.length < 4 || !OBJECT_START.has(segment.charAt(0))) return undefined;
  const text = Buffer.from(segment, 'base64url').toString('utf8').trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isUpstreamIssuer(iss: unknown, identity: UpstreamIdentity): boolean {
  if (typeof iss !== 'string' || iss === identity.ownIssuer) return false;
  const bare = iss.replace(/\/+$/, '');
  for (const issuer of identity.issuers) if (issuer.replace(/\/+$/, '') === bare) return true;
  try {
    return identity.origins.has(new URL(iss).origin);
  } catch {
    return false;
  }
}

/** Why a JOSE object with this header (and payload, for a JWS) is the upstream's, or undefined. */
function upstreamProduced(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | undefined,
  identity: UpstreamIdentity,
): string | undefined {
  if (typeof header.kid === 'string' && identity.kids.has(header.kid)) {
    return "a JWS signed with one of the upstream's keys";
  }
  if (isUpstreamIssuer(header.iss, identity) || isUpstreamIssuer(payload?.iss, identity)) {
    return "a JWT issued by the upstream's issuer";
  }
  if (identity.issuers.size === 0 && payload?.iss !== identity.ownIssuer) {
    return "a JWS while the upstream's issuer is not known";
  }
  return undefined;
}

const RUN = /[A-Za-z0-9_\-.]+/g;

/**
 * Claims that make a JWT something a party other than its issuer accepts: an audience, scopes, a
 * client, an ID token's binding, a confirmation key. Session-state JWTs an IdP keeps in its own
 * cookies (Keycloak's KEYCLOAK_IDENTITY: iss, sub, sid, typ Serialized-ID) carry none of them.
 */
const BEARER_CLAIMS = [
  'aud',
  'scope',
  'scp',
  'permissions',
  'azp',
  'client_id',
  'cid',
  'nonce',
  'at_hash',
  'cnf',
] as const;

function isBearerToken(payload: Record<string, unknown> | undefined): boolean {
  return payload === undefined || BEARER_CLAIMS.some((name) => Object.hasOwn(payload, name));
}

/**
 * Why a compact JOSE object in `text` is the upstream's, or undefined. With `bearerOnly`, a JWS
 * of the upstream's that carries no bearer claim (an IdP's own session state) is not counted.
 */
export function upstreamJose(
  text: string,
  identity: UpstreamIdentity,
  bearerOnly = false,
): string | undefined {
  RUN.lastIndex = 0;
  for (let match = RUN.exec(text); match !== null; match = RUN.exec(text)) {
    const run = match[0];
    if (run.indexOf('.') === run.lastIndexOf('.')) continue; // fewer than two dots
    const segments = run.split('.');
    for (let at = 0; at + 2 < segments.length; at++) {
      const header = jsonObjectOf(segments[at] as string);
      if (header === undefined || typeof header.alg !== 'string') continue;
      if (typeof header.enc === 'string') return 'a JWE (its producer cannot be told)';
      const payload = jsonObjectOf(segments[at + 1] as string);
      if (bearerOnly && !isBearerToken(payload)) continue;
      const why = upstreamProduced(header, payload, identity);
      if (why !== undefined) return why;
    }
  }
  return undefined;
}

/** Why `text` carries an upstream token, by name or by shape, or undefined. */
export function findUpstreamToken(text: string, identity: UpstreamIdentity): string | undefined {
  for (const view of decodedViews(text)) {
    const name = tokenParameterName(view);
    if (name !== undefined) return `a parameter named ${name}`;
    const jose = upstreamJose(view, identity);
    if (jose !== undefined) return jose;
  }
  return undefined;
}

/**
 * Why a Set-Cookie value carries an upstream token, or undefined: by name, any JWE, and an
 * upstream JWS that carries a bearer claim. IdPs keep their own signed session state in cookies
 * on scopegate's origin (Keycloak's KEYCLOAK_IDENTITY is a JWT under the realm's issuer); such a
 * JWT names no audience, scope or client, and no resource server accepts it.
 */
export function findUpstreamTokenInCookie(
  text: string,
  identity: UpstreamIdentity,
): string | undefined {
  for (const view of decodedViews(text)) {
    const name = tokenParameterName(view);
    if (name !== undefined) return `a parameter named ${name}`;
    const jose = upstreamJose(view, identity, true);
    if (jose !== undefined) return jose;
  }
  return undefined;
}
