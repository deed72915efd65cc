/**
 * A certificate's subject alternative names, for `tls_client_auth` (RFC 8705 §2.1.2: a client
 * may be known by a dNSName, uniformResourceIdentifier, iPAddress or rfc822Name SAN instead of
 * its subject). Read from Node's `X509Certificate.subjectAltName`: entries separated by `, `,
 * each `type:value`, a value holding a separator or a quote written as a JSON string (Node does
 * this so that no entry can pass for two). Anything else is unreadable: no names at all.
 *
 * Matching is exact per type (RFC 8705 names no wildcard semantics for these): DNS names compared
 * case-insensitively (RFC 4343), URIs and email addresses as written (an email's domain
 * case-insensitively), IP addresses by their bytes (Node's `checkIP`), so `::1` is
 * `0:0:0:0:0:0:0:1`.
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

export type SanType = 'dns' | 'uri' | 'ip' | 'email';

const NODE_TYPES: Readonly<Record<string, SanType>> = {
  DNS: 'dns',
  URI: 'uri',
  'IP Address': 'ip',
  email: 'email',
};

interface SanEntry {
  type: SanType | 'other';
  value: string;
}

/** Node's subjectAltName string as entries; undefined when it cannot be read unambiguously. */
export function parseSubjectAltNames(text: string): SanEntry[] | undefined {
  const entries: SanEntry[] = [];
  let index = 0;
  while (index < text.length) {
    const colon = text.indexOf(':', index);
    if (colon < 0) return undefined;
    const name = text.slice(index, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote (a backslash escapes the next character).
      let close = colon + 2;
      while (close < text.length && text[close] !== '"') close += text[close] === '\\' ? 2 : 1;
      if (close >= text.length) return undefined;
      try {
        value = JSON.parse(text.slice(colon + 1, close + 1)) as string;
      } catch {
        return undefined;
      }
      end = close + 1;
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
      // Node quotes any value holding these: unquoted, they mean a rendering this is not.
      if (/[,"]/.test(value)) return undefined;
    }
    entries.push({ type: NODE_TYPES[name] ?? 'other', value });
    if (end === text.length) break;
    if (!text.startsWith(', ', end)) return undefined;
    index = end + 2;
  }
  return entries;
}

function sameEmail(a: string, b: string): boolean {
  const at = a.lastIndexOf('@');
  const bt = b.lastIndexOf('@');
  return (
    at > 0 &&
    at === bt &&
    a.slice(0, at) === b.slice(0, bt) &&
    a.slice(at).toLowerCase() === b.slice(bt).toLowerCase()
  );
}

/** Whether the certificate carries a SAN of `type` equal to `expected`. */
export function hasSubjectAltName(
  certificate: X509Certificate,
  type: SanType,
  expected: string,
): boolean {
  if (type === 'ip') {
    // checkIP compares the address bytes with the certificate's iPAddress entries only.
    return isIP(expected) !== 0 && certificate.checkIP(expected) !== undefined;
  }
  const text = certificate.subjectAltName;
  if (text === undefined) return false;
  const entries = parseSubjectAltNames(text);
  if (entries === undefined) return false;
  return entries.some((entry) => {
    if (entry.type !== type) return false;
    if (type === 'dns') return entry.value.toLowerCase() === expected.toLowerCase();
    if (type === 'email') return sameEmail(entry.value, expected);
    return entry.value === expected;
  });
}
