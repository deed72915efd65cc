/**
 * Redirects from the upstream, rewritten as they pass through scopegate:
 * - a Location on the upstream's own origin (login pages, the resume step) moves onto scopegate,
 *   so the browser keeps talking to scopegate and the authorization response passes through it;
 * - the authorization response's `iss` (RFC 9207), in the query or the fragment, becomes
 *   scopegate's issuer when it is the upstream's, as clients check it against discovery;
 * - the same `iss` in a form_post page (see form-post-response.ts).
 */

import type { OAuthError } from '../http/oauth-error.js';
import {
  type MetadataContext,
  metadataContextOf,
  throughScopegate,
} from '../issued/public-metadata.js';
import type { Runtime } from '../runtime/runtime.js';
import { type FormPostRewrite, rewriteFormPost } from './form-post-response.js';
import { completeHeldResponse, heldResponseCarrier } from './profile-response.js';

export interface LocationContext {
  metadata: MetadataContext;
  /** The upstream's issuer, when known. */
  upstreamIssuer: string | undefined;
  /** Origins of the upstream's URLs. */
  upstreamOrigins: ReadonlySet<string>;
}

function rewriteIss(params: URLSearchParams, context: LocationContext): boolean {
  const iss = params.get('iss');
  if (iss === null || context.upstreamIssuer === undefined || iss !== context.upstreamIssuer) {
    return false;
  }
  params.set('iss', context.metadata.issuer);
  return true;
}

export function rewriteLocation(location: string, context: LocationContext): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    // A relative redirect stays relative: the browser resolves it against scopegate. One from the
    // upstream's root (`/interaction/x`) names the upstream's path, which is under the issuer's
    // path on scopegate.
    const issuerPath = new URL(context.metadata.issuer).pathname.replace(/\/+$/, '');
    return issuerPath !== '' && /^\/(?![/\\])/.test(location)
      ? `${issuerPath}${location}`
      : location;
  }
  const moved = context.upstreamOrigins.has(url.origin)
    ? throughScopegate(location, context.upstreamOrigins, context.metadata)
    : undefined;
  if (moved !== undefined) url = new URL(moved);
  let changed = moved !== undefined;
  if (rewriteIss(url.searchParams, context)) changed = true;
  if (url.hash.length > 1) {
    const fragment = new URLSearchParams(url.hash.slice(1));
    if (rewriteIss(fragment, context)) {
      url.hash = fragment.toString();
      changed = true;
    }
  }
  return changed ? url.href : location;
}

/** What the proxy rewrites in the upstream's answers: redirects and form_post pages. */
export interface AuthorizationResponseRewrite {
  location(location: string): string;
  formPost(html: Buffer): FormPostRewrite;
  /** The issuer's path ('' at the root): cookie paths are moved under it. */
  issuerPath: string;
  /**
   * For the (rewritten) Location of an authorization response held to a profile: the Location
   * the client gets, or the refusal (profile-response.ts). Undefined for any other Location.
   */
  held(location: string): Promise<string | OAuthError> | undefined;
}

const rewrites = new WeakMap<Runtime, AuthorizationResponseRewrite>();

/**
 * The rewrites for requests proxied under one configuration generation, made once per generation.
 * The upstream's issuer is read on each use: discovery may learn it after the generation starts.
 */
export function authorizationResponseRewriteFor(runtime: Runtime): AuthorizationResponseRewrite {
  let rewrite = rewrites.get(runtime);
  if (rewrite === undefined) {
    rewrite = {
      location: (location) => {
        const upstreamIssuer = runtime.discovery.knownIssuer();
        const upstreamOrigins = new Set([new URL(runtime.config.upstream.url).origin]);
        if (upstreamIssuer !== undefined && URL.canParse(upstreamIssuer)) {
          upstreamOrigins.add(new URL(upstreamIssuer).origin);
        }
        return rewriteLocation(location, {
          metadata: metadataContextOf(runtime),
          upstreamIssuer,
          upstreamOrigins,
        });
      },
      formPost: (html) =>
        rewriteFormPost(html, {
          issuer: runtime.config.issuer,
          upstreamIssuer: runtime.discovery.knownIssuer(),
        }),
      issuerPath: runtime.issuerPath.path,
      held: (location) =>
        heldResponseCarrier(location) === undefined
          ? undefined
          : completeHeldResponse(location, runtime),
    };
    rewrites.set(runtime, rewrite);
  }
  return rewrite;
}
