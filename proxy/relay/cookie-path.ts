/**
 * Cookies the upstream sets, seen by a browser that reaches the upstream under scopegate's issuer
 * path (`https://host/gw`). A `Path` attribute names the upstream's own path (node-oidc-provider
 * scopes its interaction and resume cookies to `/interaction/<uid>` and `/auth/<uid>`); the
 * browser asks for those under the issuer's path, so without the prefix it would never send them
 * back and the login could not resume. Cookies without a `Path` default to the directory of the
 * URL the browser asked for, already under the issuer's path, and are left alone.
 */

/** `Set-Cookie` lines with their `Path` attribute moved under `prefix` (a path without a trailing slash). */
export function prefixCookiePaths(lines: readonly string[], prefix: string): string[] {
  return lines.map((line) => {
    const parts = line.split(';');
    let changed = false;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i] as string;
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== 'path') continue;
      const value = part.slice(eq + 1).trim();
      // RFC 6265 §5.2.4: a path that does not start with '/' is replaced by the default path.
      if (!value.startsWith('/')) continue;
      parts[i] = ` Path=${value === '/' ? prefix : `${prefix}${value}`}`;
      changed = true;
    }
    return changed ? parts.join(';') : line;
  });
}
