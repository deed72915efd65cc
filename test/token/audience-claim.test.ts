/**
 * The issued `aud`: values naming a granted scope that was not issued are withheld (IdPs such as
 * glewlwyd put the granted scopes in `aud`); real audiences pass unchanged, in their form.
 */
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { issuedAudience } from '../../proxy/issued/audience-claim.js';

const rows: [string, JWTPayload['aud'], string[], string[], JWTPayload['aud']][] = [
  // [case, upstream aud, granted, issued, issued aud]
  ['no aud', undefined, ['read'], [], undefined],
  [
    'an API identifier',
    'https://api.example.com',
    ['read', 'write'],
    ['read'],
    'https://api.example.com',
  ],
  ['an array of APIs', ['api-a', 'api-b'], ['read', 'write'], ['read'], ['api-a', 'api-b']],
  [
    'scopes joined, narrowed',
    'api.read api.write',
    ['api.read', 'api.write'],
    ['api.read'],
    'api.read',
  ],
  [
    'scopes joined, all issued',
    'api.read api.write',
    ['api.read', 'api.write'],
    ['api.read', 'api.write'],
    'api.read api.write',
  ],
  ['scopes joined, none issued', 'api.read api.write', ['api.read', 'api.write'], [], undefined],
  [
    'scopes in an array',
    ['read', 'write', 'https://api'],
    ['read', 'write'],
    ['write'],
    ['write', 'https://api'],
  ],
  [
    'a granted template withheld',
    ['accounts.*', 'api'],
    ['accounts.*'],
    ['accounts.read.1'],
    ['api'],
  ],
  ['nothing granted', 'read write', [], [], 'read write'],
];

describe('issuedAudience', () => {
  it.each(rows)('%s', (_case, aud, granted, issued, expected) => {
    expect(issuedAudience(aud, granted, issued)).toEqual(expected);
  });

  it('returns the same value when nothing is withheld (no copy per token)', () => {
    const aud = ['api-a', 'api-b'];
    expect(issuedAudience(aud, ['read'], ['read'])).toBe(aud);
  });
});
