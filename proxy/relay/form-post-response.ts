/**
 * The OAuth 2.0 Form Post Response Mode through scopegate: the upstream answers the authorization
 * request with an HTML page whose form posts the response (`code`, `state`, `iss`, `error`, ...)
 * to the client's redirect_uri. The `iss` field (RFC 9207) becomes scopegate's issuer when it is
 * the upstream's, exactly as in the query and the fragment; nothing else in the page changes.
 *
 * Unlike a redirect, whose unknown `iss` is left for the client to refuse, a page that carries an
 * `iss` field scopegate cannot rewrite is refused here (fail closed): the page is unmistakably an
 * authorization response, and what it would post is not what scopegate vouches for. A foreign or
 * unreadable `iss` means the upstream answered for another issuer, or in a way this reader does
 * not see as the browser will; a second `iss` field, or one that is not a plain input, could have
 * the client read a value that was never checked. Passing such a page on would hand the decision
 * to each client's own mix-up defence, which scopegate's rewriting otherwise vouches for.
 *
 * Token fields never pass: the front channel refuses response types that return an access token,
 * so an `access_token`, `id_token` or `refresh_token` field in any page (or `token` in an
 * authorization response) is an upstream token on its way to the browser, around the token
 * endpoint where scopegate narrows and re-signs.
 */
import { encodeAttributeValue } from '../http/html-entities.js';
import { type HtmlStartTag, startTags } from '../http/html-tags.js';

export interface FormPostContext {
  /** scopegate's issuer, what clients expect in `iss`. */
  issuer: string;
  /** The upstream's issuer, when known; without it no `iss` field can be vouched for. */
  upstreamIssuer: string | undefined;
}

export type FormPostRewrite =
  /** Not an authorization response: passed on as it came. */
  | { kind: 'none' }
  | { kind: 'rewritten'; body: Buffer }
  /** An authorization response that must not reach the client; `reason` is for the log. */
  | { kind: 'refused'; reason: string };

/** Elements whose `name` is submitted with a form. */
const FORM_FIELDS: ReadonlySet<string> = new Set(['input', 'textarea', 'select', 'button']);
/** Field names that carry a token in an authorization response, wherever they appear. */
const TOKEN_FIELDS: ReadonlySet<string> = new Set(['access_token', 'id_token', 'refresh_token']);

const refused = (reason: string): FormPostRewrite => ({ kind: 'refused', reason });

/**
 * glewlwyd percent-encodes the values of its form (`http%3A%2F%2F...`), which a browser posts as
 * they stand, so no client that checks `iss` accepts them. A value that decodes to exactly the
 * upstream's issuer is unambiguously it, and scopegate writes its own issuer in plain form: the
 * login works through scopegate as RFC 9207 means it to.
 */
function isPercentEncoded(value: string, upstreamIssuer: string): boolean {
  if (!value.includes('%')) return false;
  try {
    return decodeURIComponent(value) === upstreamIssuer;
  } catch {
    return false;
  }
}

/**
 * The page with its `iss` field rewritten, untouched when it is no authorization response, or
 * refused. `html` is the decoded body; the result's body is spliced from its bytes.
 */
export function rewriteFormPost(html: Buffer, context: FormPostContext): FormPostRewrite {
  const document = html.toString('latin1');
  const issFields: HtmlStartTag[] = [];
  let tokenField = false;
  for (const tag of startTags(document, FORM_FIELDS)) {
    const name = tag.attributes.get('name')?.value;
    if (name === undefined) continue;
    // Compared loosely: a lenient client reading `ISS` or ` id_token` must not be a way around.
    const loose = name.trim().toLowerCase();
    if (TOKEN_FIELDS.has(loose)) return refused(`the page posts a form field named ${loose}`);
    if (loose === 'token') tokenField = true;
    if (loose === 'iss') {
      if (name !== 'iss') return refused('the page posts a form field named like iss');
      issFields.push(tag);
    }
  }
  const [field, ...others] = issFields;
  if (field === undefined) return { kind: 'none' };
  if (tokenField) return refused('the authorization response posts a form field named token');
  if (others.length > 0) return refused('the authorization response posts iss more than once');
  if (field.name !== 'input') return refused(`the iss field is a ${field.name}, not an input`);
  const value = field.attributes.get('value');
  if (value?.valueSpan === undefined) return refused('the iss field has no value');
  if (context.upstreamIssuer === undefined) {
    return refused("the upstream's issuer is not known yet");
  }
  if (
    value.value !== context.upstreamIssuer &&
    !isPercentEncoded(value.value, context.upstreamIssuer)
  ) {
    return refused("the iss field is not the upstream's issuer");
  }
  const [start, end] = value.valueSpan;
  return {
    kind: 'rewritten',
    body: Buffer.concat([
      html.subarray(0, start),
      Buffer.from(`"${encodeAttributeValue(context.issuer)}"`, 'utf8'),
      html.subarray(end),
    ]),
  };
}
