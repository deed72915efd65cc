/**
 * The upstream's Set-Cookie Path attributes moved under scopegate's issuer path, so the browser
 * sends the cookies back on the URLs it actually uses; nothing else in the line changes.
 */
import { describe, expect, it } from 'vitest';
import { prefixCookiePaths } from '../../proxy/relay/cookie-path.js';

describe('prefixCookiePaths', () => {
  it.each([
    ['_i=1; path=/interaction/abc; httponly', '_i=1; Path=/gw/interaction/abc; httponly'],
    ['_r=1; Path=/auth/abc; SameSite=Lax; Secure', '_r=1; Path=/gw/auth/abc; SameSite=Lax; Secure'],
    ['s=1; Path=/', 's=1; Path=/gw'],
    ['s=1;PATH = /x ', 's=1; Path=/gw/x'],
    ['s=1; HttpOnly', 's=1; HttpOnly'],
    ['s=1; Path=relative', 's=1; Path=relative'],
    ['path=/not-an-attribute', 'path=/not-an-attribute'],
  ])('%s', (line, expected) => {
    expect(prefixCookiePaths([line], '/gw')).toEqual([expected]);
  });
});
