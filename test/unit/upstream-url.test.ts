/**
 * Every path scopegate sends to the upstream is put on `upstream.url`'s origin, never resolved
 * as a relative reference: a path that looks like a host (`//evil/x`), escapes (`/a/../b`) or
 * hides a separator stays on the upstream's origin or is refused.
 */
import { describe, expect, it } from 'vitest';
import { UpstreamPathError, upstreamUrl } from '../../proxy/upstream/upstream-url.js';

const BASE = 'http://127.0.0.1:8081/realms/acme';

describe('upstreamUrl: origin + path', () => {
  it.each([
    // [path, href]
    ['/oauth/token', 'http://127.0.0.1:8081/oauth/token'],
    // glewlwyd with external_url ending in "/": a path, not the host "api"
    ['//api/oidc/token', 'http://127.0.0.1:8081//api/oidc/token'],
    ['//evil/x', 'http://127.0.0.1:8081//evil/x'],
    ['///evil/x', 'http://127.0.0.1:8081///evil/x'],
    ['//evil.example:443/x?y=1', 'http://127.0.0.1:8081//evil.example:443/x?y=1'],
    ['//user@evil/x', 'http://127.0.0.1:8081//user@evil/x'],
    // dot segments are resolved within the origin
    ['/a/../b', 'http://127.0.0.1:8081/b'],
    ['/../../b', 'http://127.0.0.1:8081/b'],
    // encoded slashes stay encoded
    ['/a%2Fb', 'http://127.0.0.1:8081/a%2Fb'],
    ['/%2F%2Fevil/x', 'http://127.0.0.1:8081/%2F%2Fevil/x'],
    // the URL parser reads encoded dots as dot segments: still on the origin
    ['/%2e%2e/x', 'http://127.0.0.1:8081/x'],
    // a backslash after the leading slash is a path separator on an http URL
    ['/\\evil/x', 'http://127.0.0.1:8081//evil/x'],
    ['/@evil/x', 'http://127.0.0.1:8081/@evil/x'],
    ['/token?x=1', 'http://127.0.0.1:8081/token?x=1'],
  ])('%s → %s', (path, href) => {
    const url = upstreamUrl(BASE, path);
    expect(url.href).toBe(href);
    expect(url.origin).toBe('http://127.0.0.1:8081');
  });

  it.each([
    ['\\\\evil\\x'],
    ['\\/evil/x'],
    ['http://evil/x'],
    ['https://evil/x'],
    ['evil/x'],
    [''],
    ['?x=1'],
    ['/x#frag'],
  ])('refuses %j', (path) => {
    expect(() => upstreamUrl(BASE, path)).toThrow(UpstreamPathError);
  });

  it("keeps the base's scheme and port, drops its path", () => {
    expect(upstreamUrl(new URL('https://idp.example:8443/base/'), '//x').href).toBe(
      'https://idp.example:8443//x',
    );
  });

  it('differs from relative resolution exactly where that would leave the origin', () => {
    // The bug it replaces: `new URL(path, base)` reads "//api/..." as host "api".
    expect(new URL('//api/oidc/token', BASE).host).toBe('api');
    expect(upstreamUrl(BASE, '//api/oidc/token').host).toBe('127.0.0.1:8081');
  });
});
