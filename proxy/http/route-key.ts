/**
 * How request targets are compared with upstream paths: the path the upstream will act on, and
 * one key for every spelling of it.
 */
/**
 * The path the upstream will act on. http-proxy-3 rebuilds the outgoing path with WHATWG URL
 * parsing, which resolves `.`/`..` segments (also as `%2e`) and turns an absolute-form target
 * (`POST http://host/oauth/token`) into its path; routing must look at the same path, or
 * `/x/../oauth/token` would be proxied to the upstream token endpoint and its unnarrowed token
 * returned as is.
 */
export function upstreamPath(rawUrl: string): string | undefined {
  // A leading `//` would otherwise parse as a network-path reference (a host, not a path).
  const url = rawUrl.startsWith('//') ? `http://base.invalid${rawUrl}` : rawUrl;
  try {
    return new URL(url, 'http://base.invalid').pathname;
  } catch {
    // http-proxy-3 would throw on it too, synchronously, out of the request handler.
    return undefined;
  }
}

/**
 * A comparison key for routes: servers in front of IdPs commonly decode `%xx` (`%2F` included)
 * and then resolve dot segments and merge slashes (nginx), ignore a trailing slash and letter
 * case (koa-router, Express) and strip `;params` (servlet containers), so every spelling the
 * upstream may treat as the same route is one route.
 */
export function routeKey(pathname: string): string {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // Malformed escapes: compare the raw text.
  }
  const segments: string[] = [];
  for (const segment of decoded.toLowerCase().split(/[/\\]+/)) {
    const name = segment.replace(/;.*$/, '');
    if (name === '' || name === '.') continue;
    if (name === '..') segments.pop();
    else segments.push(name);
  }
  return `/${segments.join('/')}`;
}
