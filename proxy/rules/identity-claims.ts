/**
 * Which identity claims a client may read, by the scopes it was ISSUED: the one definition the
 * ID token scopegate signs (id-token-claims.ts) and the userinfo answers it gives (userinfo.ts)
 * are both built from.
 *
 * - The standard map of OpenID Connect Core §5.4: `profile`, `email`, `address`, `phone` and
 *   their claims, each kept only when its value has the type §5.1 gives it (an `address` only
 *   with the string members §5.1.1 lists).
 * - `tokens.identity_claims`: a configured map from a scope to more claim names (custom
 *   claims; under `openid`, claims every ID token and userinfo answer may carry). Configured
 *   values are carried as the upstream wrote them (JSON values without prototypes).
 *
 * The access token scopegate signs carries them by the same map (proxy/rules/carried-claims.ts).
 *
 * A scope the client asked for but was not issued (removed by narrowing, `drop`, a policy or a
 * narrower refresh) releases nothing. Authorization and protocol claims can never be listed
 * (the configuration refuses them: id-token-claims.ts), so this map never releases one.
 */

/** Claim shapes of OpenID Connect Core §5.1. */
type StandardShape = 'string' | 'boolean' | 'number' | 'address';

/** OpenID Connect Core §5.4: the claims each standard scope requests. */
export const STANDARD_SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** OpenID Connect Core §5.1: the type of each standard claim. */
const STANDARD_SHAPES: Readonly<Record<string, StandardShape>> = {
  name: 'string',
  family_name: 'string',
  given_name: 'string',
  middle_name: 'string',
  nickname: 'string',
  preferred_username: 'string',
  profile: 'string',
  picture: 'string',
  website: 'string',
  gender: 'string',
  birthdate: 'string',
  zoneinfo: 'string',
  locale: 'string',
  updated_at: 'number',
  email: 'string',
  email_verified: 'boolean',
  address: 'address',
  phone_number: 'string',
  phone_number_verified: 'boolean',
};

/** OpenID Connect Core §5.1.1: the members of an `address` claim. */
const ADDRESS_MEMBERS = [
  'formatted',
  'street_address',
  'locality',
  'region',
  'postal_code',
  'country',
] as const;

/** tokens.identity_claims: scope → claim names, as validated by the schema. */
export type ConfiguredIdentityClaims = Readonly<Record<string, readonly string[]>>;

/** Standard identity claim names (OpenID Connect Core §5.4), for the lookup below. */
const STANDARD_IDENTITY_CLAIMS: ReadonlySet<string> = new Set(
  Object.values(STANDARD_SCOPE_CLAIMS).flat(),
);

/**
 * Whether `name` is an identity claim, released by some scope (standard or configured): whoever
 * wants to carry it (an access token's carry list) must ask releasedIdentityClaims, so that a
 * scope that was not issued releases nothing.
 */
export function isIdentityClaim(name: string, configured: ConfiguredIdentityClaims): boolean {
  if (STANDARD_IDENTITY_CLAIMS.has(name)) return true;
  for (const names of Object.values(configured)) if (names.includes(name)) return true;
  return false;
}

/** The claim names `issuedScopes` release, standard and configured. */
export function releasedClaimNames(
  issuedScopes: Iterable<string>,
  configured: ConfiguredIdentityClaims,
): Set<string> {
  const names = new Set<string>();
  for (const scope of issuedScopes) {
    if (Object.hasOwn(STANDARD_SCOPE_CLAIMS, scope)) {
      for (const name of STANDARD_SCOPE_CLAIMS[scope] as readonly string[]) names.add(name);
    }
    if (Object.hasOwn(configured, scope)) {
      for (const name of configured[scope] as readonly string[]) names.add(name);
    }
  }
  return names;
}

/** An address built from its listed string members only; undefined when none is a string. */
function addressValue(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const given = value as Record<string, unknown>;
  const address: Record<string, string> = Object.create(null);
  let any = false;
  for (const member of ADDRESS_MEMBERS) {
    const part = Object.hasOwn(given, member) ? given[member] : undefined;
    if (typeof part === 'string') {
      address[member] = part;
      any = true;
    }
  }
  return any ? address : undefined;
}

/** The value as the claim may carry it, or undefined when it has the wrong type. */
function releasedValue(name: string, value: unknown): unknown {
  const shape = Object.hasOwn(STANDARD_SHAPES, name) ? STANDARD_SHAPES[name] : undefined;
  switch (shape) {
    case undefined:
      return value;
    case 'address':
      return addressValue(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    default:
      return typeof value === shape ? value : undefined;
  }
}

/**
 * The identity claims of `source` (a verified upstream ID token, an upstream userinfo answer)
 * that the issued scopes release, in a new object without a prototype. Only own members of
 * `source` are read.
 */
export function releasedIdentityClaims(
  source: Readonly<Record<string, unknown>>,
  issuedScopes: Iterable<string>,
  configured: ConfiguredIdentityClaims,
): Record<string, unknown> {
  const released: Record<string, unknown> = Object.create(null);
  for (const name of releasedClaimNames(issuedScopes, configured)) {
    if (!Object.hasOwn(source, name)) continue;
    const value = releasedValue(name, source[name]);
    if (value !== undefined && value !== null) released[name] = value;
  }
  return released;
}
