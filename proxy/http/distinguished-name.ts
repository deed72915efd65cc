/**
 * X.500 distinguished names, for `tls_client_auth` (RFC 8705 §2.1.2: the client registers the
 * RFC 4514 string of its certificate's subject). Two spellings meet here and are compared as
 * names, not as text:
 *
 * - the configuration's RFC 4514 string: RDNs separated by `,`, most significant LAST
 *   (`CN=client,O=Example,C=SE`), `+` between the attributes of a multi-valued RDN, special
 *   characters escaped with `\` (or as `\XX` hex pairs);
 * - Node's `X509Certificate.subject`: one RDN per line, most significant FIRST (the certificate's
 *   own order), ` + ` between the attributes of a multi-valued RDN, values escaped as RFC 2253
 *   does (control characters as `\XX`, so a value never holds a line break).
 *
 * Both parse to the same structure: the RDNs in the certificate's order, each a sorted set of
 * `type=value` with the type as an OID where it has a known name (`CN`, `commonName` and `2.5.4.3`
 * are one type) and the value unescaped and folded as X.520's caseIgnoreMatch compares it (RFC
 * 4518: case folded, leading and trailing spaces dropped, inner runs of spaces as one). Equal
 * names have equal RDNs in the same order: no reordering, no partial match. Anything that does not
 * parse (a dangling escape, an attribute without `=`, an empty RDN) is no name at all.
 */

/** Attribute type names (upper case) and the OIDs they stand for: RFC 4514 §3, and Node's names. */
const ATTRIBUTE_TYPES: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  COMMONNAME: '2.5.4.3',
  SN: '2.5.4.4',
  SURNAME: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  COUNTRYNAME: '2.5.4.6',
  L: '2.5.4.7',
  LOCALITYNAME: '2.5.4.7',
  ST: '2.5.4.8',
  S: '2.5.4.8',
  STATEORPROVINCENAME: '2.5.4.8',
  STREET: '2.5.4.9',
  STREETADDRESS: '2.5.4.9',
  O: '2.5.4.10',
  ORGANIZATIONNAME: '2.5.4.10',
  OU: '2.5.4.11',
  ORGANIZATIONALUNITNAME: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  DOMAINCOMPONENT: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  USERID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
};

const OID = /^(?:OID\.)?([0-2](?:\.(?:0|[1-9][0-9]*))+)$/i;
const KEYWORD = /^[A-Za-z][A-Za-z0-9-]*$/;

/** A name: its RDNs in the certificate's order (most significant first), each sorted. */
export type DistinguishedName = readonly (readonly string[])[];

function attributeType(text: string): string | undefined {
  const type = text.trim();
  const oid = OID.exec(type);
  if (oid) return oid[1];
  if (!KEYWORD.test(type)) return undefined;
  return ATTRIBUTE_TYPES[type.toUpperCase()] ?? type.toUpperCase();
}

/** RFC 4518 caseIgnore folding of an unescaped value. */
function foldValue(value: string): string {
  return value.normalize('NFKC').toLowerCase().trim().replace(/ +/g, ' ');
}

/**
 * Splits `text` on the unescaped `separator`, keeping escapes as they are. Undefined for a
 * dangling `\` at the end. Linear.
 */
function splitUnescaped(text: string, separator: string): string[] | undefined {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (char === '\\') {
      if (index + 1 >= text.length) return undefined;
      current += char + (text[index + 1] as string);
      index++;
    } else if (text.startsWith(separator, index)) {
      parts.push(current);
      current = '';
      index += separator.length - 1;
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** An escaped value, unescaped: `\c` for a special character, `\XX` for a byte (UTF-8). */
function unescapeValue(text: string): string | undefined {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (char !== '\\') {
      bytes.push(...encoder.encode(char));
      continue;
    }
    const pair = text.slice(index + 1, index + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
      bytes.push(Number.parseInt(pair, 16));
      index += 2;
    } else if (index + 1 < text.length) {
      bytes.push(...encoder.encode(text[index + 1] as string));
      index += 1;
    } else {
      return undefined;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** One `type=value` of an RDN, normalised; undefined when it is not one. */
function attribute(text: string): string | undefined {
  const equals = text.indexOf('=');
  if (equals <= 0) return undefined;
  const type = attributeType(text.slice(0, equals));
  // Leading and trailing spaces are insignificant (foldValue drops them, escaped or not).
  const value = unescapeValue(text.slice(equals + 1).trimStart());
  if (type === undefined || value === undefined) return undefined;
  return `${type}=${foldValue(value)}`;
}

function parseRdns(rdns: readonly string[], plus: string): DistinguishedName | undefined {
  const name: string[][] = [];
  for (const rdn of rdns) {
    const attributes = splitUnescaped(rdn, plus);
    if (attributes === undefined) return undefined;
    const parsed: string[] = [];
    for (const text of attributes) {
      const one = attribute(text);
      if (one === undefined) return undefined;
      parsed.push(one);
    }
    name.push(parsed.sort());
  }
  return name.length === 0 ? undefined : name;
}

/** An RFC 4514 string (most significant RDN last), as a name; undefined when it is not one. */
export function parseRfc4514(text: string): DistinguishedName | undefined {
  const rdns = splitUnescaped(text, ',');
  if (rdns === undefined) return undefined;
  return parseRdns(rdns.reverse(), '+');
}

/** Node's `X509Certificate.subject` (one RDN per line), as a name. */
export function parseNodeSubject(subject: string): DistinguishedName | undefined {
  const rdns = subject.split('\n').filter((line) => line !== '');
  return parseRdns(rdns, ' + ');
}

export function sameDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  return (
    a.length === b.length &&
    a.every((rdn, index) => {
      const other = b[index] as readonly string[];
      return rdn.length === other.length && rdn.every((value, at) => value === other[at]);
    })
  );
}
