/**
 * The form_post rewrite on its own: the `iss` field's value becomes scopegate's issuer however the
 * upstream wrote it (attribute order, quotes, character references), every other byte of the page
 * stays as it was, and pages that carry an authorization response scopegate cannot vouch for are
 * refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeAttributeValue } from '../../proxy/http/html-entities.js';
import { type FormPostContext, rewriteFormPost } from '../../proxy/relay/form-post-response.js';

const UP = 'http://127.0.0.1:4000/tenant';
const OURS = 'https://auth.example.com/gw';
const context: FormPostContext = { issuer: OURS, upstreamIssuer: UP };
const OURS_ATTRIBUTE = `"${OURS}"`;

const page = (inputs: string) =>
  `<!DOCTYPE html><html><head><title>Submitting Callback</title></head><body>` +
  `<form method="post" action="https://app.example.com/callback">${inputs}</form></body></html>`;

const rewrite = (html: string, with_: FormPostContext = context) =>
  rewriteFormPost(Buffer.from(html, 'utf8'), with_);

describe('rewriteFormPost: the iss field becomes scopegate issuer', () => {
  it.each([
    ['double quotes', `<input type="hidden" name="iss" value="${UP}"/>`],
    ['single quotes', `<input type='hidden' name='iss' value='${UP}'/>`],
    ['unquoted, then a space', `<input type=hidden name=iss value=${UP} >`],
    ['value before name', `<input value="${UP}" type="hidden" name="iss">`],
    ['upper-case tag and attributes', `<INPUT TYPE="hidden" NAME="iss" VALUE="${UP}">`],
    ['spaces around =', `<input name = "iss" value = "${UP}">`],
    ['newlines between attributes', `<input\n  name="iss"\n  value="${UP}"\n/>`],
    [
      'named references',
      `<input name="iss" value="http&colon;&sol;&sol;127.0.0.1&colon;4000&sol;tenant">`,
    ],
    ['hex references', `<input name="iss" value="http:&#x2F;&#x2f;127.0.0.1:4000&#x2F;tenant">`],
    ['decimal references', `<input name="iss" value="http&#58;//127.0.0.1&#58;4000/tenant">`],
    ['a referenced name', `<input name="&#105;ss" value="${UP}">`],
    [
      'percent-encoded, as glewlwyd writes it',
      `<input name="iss" value="${encodeURIComponent(UP)}"/>`,
    ],
    ['a repeated value attribute: the first counts', `<input name="iss" value="${UP}" value="x">`],
    ['a repeated name attribute: the first counts', `<input name="iss" name="code" value="${UP}">`],
  ])('%s', (_name, input) => {
    const html = page(`<input type="hidden" name="code" value="c-1"/>${input}`);
    const result = rewrite(html);
    expect(result.kind).toBe('rewritten');
    if (result.kind !== 'rewritten') return;
    const out = result.body.toString('utf8');
    // Exactly the value changed: the rest of the page is byte for byte the same.
    const before = html.indexOf(input);
    expect(out.slice(0, before)).toBe(html.slice(0, before));
    expect(out).toContain(OURS_ATTRIBUTE);
    expect(out).not.toContain('127.0.0.1');
    const tail = html.slice(before + input.length);
    expect(out.endsWith(tail)).toBe(true);
  });

  it('escapes the issuer for the attribute', () => {
    const odd = { issuer: 'https://auth.example.com/gw?a=1&b="2"', upstreamIssuer: UP };
    const result = rewrite(page(`<input name="iss" value="${UP}">`), odd);
    expect(result.kind).toBe('rewritten');
    if (result.kind !== 'rewritten') return;
    const match = /name="iss" value=("[^"]*")/.exec(result.body.toString('utf8'));
    expect(match?.[1]).toBe('"https://auth.example.com/gw?a=1&amp;b=&quot;2&quot;"');
    expect(decodeAttributeValue(match?.[1]?.slice(1, -1) ?? '')).toBe(odd.issuer);
  });

  it('keeps bytes that are not ASCII, elsewhere in the page, as they were', () => {
    const html = page(`<p>Überweisung – 確認</p><input name="iss" value="${UP}">`);
    const result = rewrite(html);
    expect(result.kind).toBe('rewritten');
    if (result.kind !== 'rewritten') return;
    expect(result.body.toString('utf8')).toBe(html.replace(`"${UP}"`, OURS_ATTRIBUTE));
  });

  it('rewrites the oidc-provider error response the same way', () => {
    const html = page(
      `<input type="hidden" name="error" value="access_denied"/>` +
        `<input type="hidden" name="state" value="s&amp;1"/>` +
        `<input type="hidden" name="iss" value="${UP}"/>`,
    );
    const result = rewrite(html);
    expect(result.kind).toBe('rewritten');
  });
});

describe('rewriteFormPost: pages that are no authorization response pass untouched', () => {
  it.each([
    ['a login page', page('<input name="login"><input type="password" name="password">')],
    ['an iss look-alike in a comment', page(`<!-- <input name="iss" value="x"> -->`)],
    ['an iss look-alike in a script', `<script>var f='<input name="iss" value="x">';</script>`],
    ['an iss look-alike in a textarea body', `<textarea><input name="iss" value="x"></textarea>`],
    ['an input cut off by the end of the page', `<form><input name="iss" value="x`],
    ['a name attribute mentioning iss', page('<input name="mission" value="iss">')],
    ['a CSRF field named token on a login page', page('<input name="token" value="csrf">')],
    ['no HTML at all', '{"iss":"x"}'],
  ])('%s', (_name, html) => {
    expect(rewrite(html)).toEqual({ kind: 'none' });
  });
});

describe('rewriteFormPost: fail closed', () => {
  it.each([
    ['a foreign iss', page('<input name="iss" value="https://evil.example">')],
    ['scopegate issuer already', page(`<input name="iss" value="${OURS}">`)],
    ['an iss with a trailing slash more', page(`<input name="iss" value="${UP}/">`)],
    [
      'a percent-encoded foreign iss',
      page('<input name="iss" value="https%3A%2F%2Fevil.example">'),
    ],
    ['a malformed percent-encoding', page(`<input name="iss" value="${UP}%E0%A4%A">`)],
    ['an unknown reference in iss', page('<input name="iss" value="http&colone;//x">')],
    ['an iss without value', page('<input name="iss">')],
    ['an empty iss', page('<input name="iss" value="">')],
    ['two iss fields', page(`<input name="iss" value="${UP}"><input name="iss" value="${UP}">`)],
    ['an iss spelled in capitals', page(`<input name="ISS" value="${UP}">`)],
    ['an iss with spaces', page(`<input name=" iss" value="${UP}">`)],
    ['an iss textarea', page(`<textarea name="iss">${UP}</textarea>`)],
    ['an iss button', page(`<button name="iss" value="${UP}">Go</button>`)],
    ['an iss select', page(`<select name="iss"><option>${UP}</option></select>`)],
    ['an id_token field', page('<input name="code" value="c"><input name="id_token" value="e">')],
    ['an access_token field', page('<input name="access_token" value="e">')],
    ['a refresh_token field', page('<input name="refresh_token" value="e">')],
    ['an id_token field in capitals', page('<input name="ID_TOKEN" value="e">')],
    [
      'a token field beside iss',
      page(`<input name="iss" value="${UP}"><input name="token" value="t">`),
    ],
  ])('%s', (_name, html) => {
    expect(rewrite(html).kind).toBe('refused');
  });

  it("refuses an iss while the upstream's issuer is unknown", () => {
    const html = page(`<input name="iss" value="${UP}">`);
    expect(rewrite(html, { issuer: OURS, upstreamIssuer: undefined }).kind).toBe('refused');
  });
});

describe('decodeAttributeValue', () => {
  it.each([
    ['a&amp;b', 'a&b'],
    ['&#x2F;&#X2f;&#47;', '///'],
    ['&#58', ':'],
    ['&amp', '&'],
    ['&ampx', '&ampx'],
    ['&amp=', '&amp='],
    ['&notanentity;', '&notanentity;'],
    ['&constructor;', '&constructor;'],
    ['&#0;', '\ufffd'],
    ['&#xD800;', '\ufffd'],
    ['&#x110000;', '\ufffd'],
    ['&colon;&sol;', ':/'],
  ])('%s', (raw, decoded) => {
    expect(decodeAttributeValue(raw)).toBe(decoded);
  });
});
