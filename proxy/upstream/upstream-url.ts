/**
 * The one way a path is put on the upstream: the origin of `upstream.url` followed by the path,
 * never a relative reference resolved against it. Resolving would read a path that starts with
 * `//` (glewlwyd advertises `http://host//api/oidc/token` when its external_url ends in `/`) as a
 * network-path reference to another host, and a path from the upstream's document or a client's
 * request could then name any host scopegate can reach.
 */

export class UpstreamPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamPathError';
  }
}

/**
 * `path` on the origin of `base`. The path must start with `/`; `//x/...` stays a path on that
 * origin. A path that could end the path part (`#`) or name another authority (`\`, which URL
 * parsers read as `/`, at the start) is refused rather than guessed at. Dot segments and percent
 * escapes are as the URL parser leaves them: neither can leave the origin.
 */
export function upstreamUrl(base: string | URL, path: string): URL {
  if (!path.startsWith('/')) {
    throw new UpstreamPathError(`an upstream path must start with "/": ${JSON.stringify(path)}`);
  }
  if (path.includes('#')) {
    throw new UpstreamPathError('an upstream path cannot carry a fragment');
  }
  const origin = (typeof base === 'string' ? new URL(base) : base).origin;
  // `${origin}${path}` parses the authority from the origin alone: the path begins after it.
  const url = new URL(`${origin}${path}`);
  if (url.origin !== origin) {
    // Not reachable by the rules above; kept so that a parser surprise fails closed.
    throw new UpstreamPathError('the upstream path leaves the upstream origin');
  }
  return url;
}
