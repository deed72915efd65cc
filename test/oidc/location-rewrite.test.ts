/**
 * Redirects passing through scopegate: Locations on the upstream's origin move onto scopegate's
 * issuer; the authorization response's iss (RFC 9207) becomes scopegate's, in the query or the
 * fragment, only when it is the upstream's; everything else is left exactly as sent.
 */
import { describe, expect, it } from 'vitest';
import { type LocationContext, rewriteLocation } from '../../proxy/relay/authorization-response.js';

const UP = 'http://127.0.0.1:4000';
const context: LocationContext = {
  metadata: {
    issuer: 'https://auth.example.com/gw',
    tokenPath: '/token',
    upstreamUrl: UP,
    signingAlgorithms: ['ES256'],
    isBlocked: () => false,
  },
  upstreamIssuer: UP,
  upstreamOrigins: new Set([UP]),
};
const APP = 'https://app.example.com/callback';

describe('rewriteLocation', () => {
  it.each([
    ['an upstream page', `${UP}/auth/abc?x=1`, 'https://auth.example.com/gw/auth/abc?x=1'],
    // From the upstream's root: under the issuer's path on scopegate.
    ['a redirect from the root', '/interaction/abc', '/gw/interaction/abc'],
    ['a relative redirect', 'interaction/abc?x=1', 'interaction/abc?x=1'],
    ['a network-path redirect, untouched', '//elsewhere.example/x', '//elsewhere.example/x'],
    [
      'the code response (query)',
      `${APP}?code=c1&state=s&iss=${encodeURIComponent(UP)}`,
      `${APP}?code=c1&state=s&iss=${encodeURIComponent('https://auth.example.com/gw')}`,
    ],
    [
      'the fragment response',
      `${APP}#code=c1&iss=${encodeURIComponent(UP)}&state=s`,
      `${APP}#code=c1&iss=${encodeURIComponent('https://auth.example.com/gw')}&state=s`,
    ],
    [
      'a foreign iss, untouched',
      `${APP}?code=c&iss=https%3A%2F%2Fother`,
      `${APP}?code=c&iss=https%3A%2F%2Fother`,
    ],
    ['no iss, untouched', `${APP}?code=c&state=a%20b`, `${APP}?code=c&state=a%20b`],
    ['another site', 'https://elsewhere.example/x?y', 'https://elsewhere.example/x?y'],
  ])('%s', (_name, location, expected) => {
    expect(rewriteLocation(location, context)).toBe(expected);
  });

  it('leaves a redirect from the root alone when the issuer has no path', () => {
    const atRoot = { ...context, metadata: { ...context.metadata, issuer: 'https://a.example/' } };
    expect(rewriteLocation('/interaction/abc', atRoot)).toBe('/interaction/abc');
  });

  it('leaves iss alone while the upstream issuer is unknown', () => {
    const location = `${APP}?code=c&iss=${encodeURIComponent(UP)}`;
    expect(rewriteLocation(location, { ...context, upstreamIssuer: undefined })).toBe(location);
  });
});
