/**
 * What the leak oracle's upstream grants beyond what a client asks for, as unique marker strings:
 * finding one in anything a client receives means something wider than issued got out.
 *
 * Two kinds, with different rules:
 * - authorization markers (scopes nobody asked for, role, group, entitlement and permission
 *   names): never legitimate in a client's hands, on any route, in any artefact;
 * - identity markers (email, phone, address, name): legitimate exactly when the scope the client
 *   was issued covers them (OpenID Connect Core §5.4), at the routes that answer about the user
 *   (token endpoint, userinfo, token exchange).
 *
 * Every marker carries a random nonce, so it cannot occur in a response by coincidence.
 */
import { randomBytes } from 'node:crypto';

const NONCE = randomBytes(6).toString('hex');

/** Scopes the upstream grants on every token, whatever was asked (Auth0's behaviour). */
export const ISSUED_NARROW_SCOPE = 'read:claims';
/** Granted by the upstream, never requested by any case: finding them is a widening. */
export const UNREQUESTED_SCOPES = ['admin.users', `write:all${NONCE}`] as const;
export const GRANTED_SCOPES = [
  'openid',
  'profile',
  'email',
  'phone',
  'address',
  'offline_access',
  ISSUED_NARROW_SCOPE,
  ...UNREQUESTED_SCOPES,
];

export const ROLE = `role-admin-${NONCE}`;
export const GROUP = `group-ops-${NONCE}`;
export const REALM_ROLE = `realm-admin-${NONCE}`;
export const CLIENT_ROLE = `client-manage-${NONCE}`;
export const WID = `wid-${NONCE}`;
export const COGNITO_GROUP = `cognito-admins-${NONCE}`;
export const ENTITLEMENT = `entitlement-billing-${NONCE}`;
export const PERMISSION = `delete:everything${NONCE}`;
export const AUTHZ_DETAIL = `payment-initiation-${NONCE}`;

/** Found anywhere a client can read: a leak, on every route. */
export const AUTHORIZATION_MARKERS: readonly string[] = [
  ...UNREQUESTED_SCOPES,
  ROLE,
  GROUP,
  REALM_ROLE,
  CLIENT_ROLE,
  WID,
  COGNITO_GROUP,
  ENTITLEMENT,
  PERMISSION,
  AUTHZ_DETAIL,
];

/** The authorization claims real IdPs put in their tokens (the issue's list). */
export function authorizationClaims(): Record<string, unknown> {
  return {
    roles: [ROLE],
    groups: [GROUP],
    realm_access: { roles: [REALM_ROLE] },
    resource_access: { web: { roles: [CLIENT_ROLE] } },
    wids: [WID],
    'cognito:groups': [COGNITO_GROUP],
    entitlements: [ENTITLEMENT],
    scp: GRANTED_SCOPES,
    scope: GRANTED_SCOPES.join(' '),
    permissions: [ISSUED_NARROW_SCOPE, PERMISSION, ...UNREQUESTED_SCOPES],
    authorization_details: [{ type: AUTHZ_DETAIL }],
  };
}

export interface IdentityMarker {
  /** The OIDC scope that releases it (OpenID Connect Core §5.4). */
  scope: 'profile' | 'email' | 'phone' | 'address';
  value: string;
}

export const EMAIL = `leak.${NONCE}@example.com`;
export const PHONE = `+1 555 ${Number.parseInt(NONCE.slice(0, 8), 16)}`;
export const STREET = `${NONCE} Leak Street`;
export const NAME = `Leaky ${NONCE}`;

export const IDENTITY_MARKERS: readonly IdentityMarker[] = [
  { scope: 'profile', value: NAME },
  { scope: 'email', value: EMAIL },
  { scope: 'phone', value: PHONE },
  { scope: 'address', value: STREET },
];

/** The identity claims of the user, every one (the upstream answers them all). */
export function identityClaims(): Record<string, unknown> {
  return {
    name: NAME,
    email: EMAIL,
    email_verified: true,
    phone_number: PHONE,
    phone_number_verified: true,
    address: { street_address: STREET, country: 'NL' },
  };
}

/** The identity markers a client issued `scope` may legitimately read. */
export function identityAllowedBy(scope: string): ReadonlySet<string> {
  const scopes = new Set(scope.split(' '));
  return new Set(IDENTITY_MARKERS.filter((m) => scopes.has(m.scope)).map((m) => m.value));
}
