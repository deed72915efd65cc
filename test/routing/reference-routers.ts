/**
 * Reference routers: how servers commonly found behind scopegate decide which handler a request
 * target reaches, written independently of scopegate's own code. The fuzzers check that nothing
 * scopegate proxies reaches a protected endpoint under any of these readings.
 */

export interface ReferenceRouter {
  name: string;
  /** Whether the handler mounted at `endpoint` would serve `target` (path and query). */
  reaches(target: string, endpoint: string): boolean;
}

const pathOf = (target: string) => target.split('?')[0] ?? '';

function decodeOnce(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined; // the server answers 400: nothing is reached
  }
}

/** RFC 3986 §5.2.4 dot-segment removal, after merging repeated slashes. */
function normalise(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}${path.endsWith('/') && out.length > 0 ? '/' : ''}`;
}

const stripMatrix = (path: string) => path.replace(/;[^/]*/g, '');

/** Exact, trailing slash or a sub-path; with `suffix`, also a `.ext` suffix on the last segment. */
function servedBy(
  path: string,
  endpoint: string,
  how: { caseless: boolean; suffix: boolean },
): boolean {
  const p = how.caseless ? path.toLowerCase() : path;
  const e = how.caseless ? endpoint.toLowerCase() : endpoint;
  return p === e || p.startsWith(`${e}/`) || (how.suffix && p.startsWith(`${e}.`));
}

/** Tomcat/Jetty: `;params` stripped per segment, then decoded, normalised; path mappings `/x/*`, extension mappings. */
const servlet: ReferenceRouter = {
  name: 'servlet container',
  reaches(target, endpoint) {
    const decoded = decodeOnce(stripMatrix(pathOf(target)));
    const how = { caseless: false, suffix: false };
    return decoded !== undefined && servedBy(normalise(decoded), endpoint, how);
  },
};

/** Express (non-strict, case-insensitive routing) with a router mounted at the endpoint: raw path. */
const express: ReferenceRouter = {
  name: 'Express',
  reaches(target, endpoint) {
    const path = pathOf(target).toLowerCase();
    const e = endpoint.toLowerCase();
    return path === e || path === `${e}/` || path.startsWith(`${e}/`);
  },
};

/** Spring MVC (UrlPathHelper: semicolon content removed, decoded, `//` merged; suffix and trailing-slash matching). */
const spring: ReferenceRouter = {
  name: 'Spring MVC',
  reaches(target, endpoint) {
    const decoded = decodeOnce(stripMatrix(pathOf(target)));
    const how = { caseless: false, suffix: true };
    return decoded !== undefined && servedBy(normalise(decoded), endpoint, how);
  },
};

/**
 * The most lenient reading: decoded until stable (double-decoding filters), backslashes as
 * slashes, case-insensitive, `;params` stripped after decoding too.
 */
const lenient: ReferenceRouter = {
  name: 'lenient (double-decoding, case-insensitive)',
  reaches(target, endpoint) {
    let path = pathOf(target);
    for (let i = 0; i < 3; i++) {
      const next = decodeOnce(path);
      if (next === undefined) return false;
      path = next;
    }
    path = stripMatrix(path.replace(/\\/g, '/'));
    const how = { caseless: true, suffix: true };
    return servedBy(normalise(path.split('?')[0] ?? ''), endpoint, how);
  },
};

export const REFERENCE_ROUTERS: readonly ReferenceRouter[] = [servlet, express, spring, lenient];
