/**
 * The names `tls_client_auth` compares (RFC 8705 §2.1.2), as tables: a configured RFC 4514 subject
 * DN against Node's `X509Certificate.subject` (proxy/http/distinguished-name.ts), and SANs against
 * Node's `subjectAltName` (proxy/http/subject-alt-names.ts), on certificates openssl makes.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseNodeSubject,
  parseRfc4514,
  sameDistinguishedName,
} from '../../proxy/http/distinguished-name.js';
import {
  hasSubjectAltName,
  parseSubjectAltNames,
  type SanType,
} from '../../proxy/http/subject-alt-names.js';
import { issueCertificate } from '../support/private-ca.js';
import { createMtlsPki, type MtlsPki } from './mtls-pki.js';

/** Node's rendering of a subject: the certificate's order, one RDN a line, ` + ` within one. */
const NODE_SUBJECT =
  'C=SE\nOU=Unit + O=Exa\\, mple\nCN=client one\norganizationIdentifier=PSDGB-OB-123';

describe('a configured subject DN against a certificate subject', () => {
  const table: Array<[configured: string, same: boolean]> = [
    ['organizationIdentifier=PSDGB-OB-123,CN=client one,O=Exa\\, mple+OU=Unit,C=SE', true],
    // Spaces after separators, case of types and values, the attribute order inside an RDN.
    ['ORGANIZATIONIDENTIFIER=psdgb-ob-123, cn=Client  One, OU=Unit + O=Exa\\, mple, c=se', true],
    // Types by OID, a value's special character as a hex pair.
    ['2.5.4.97=PSDGB-OB-123,2.5.4.3=client one,O=Exa\\2C mple+OU=Unit,2.5.4.6=SE', true],
    ['OID.2.5.4.97=PSDGB-OB-123,commonName=client one,O=Exa\\, mple+OU=Unit,countryName=SE', true],
    // RDNs in the other order (Node's order written as RFC 4514): another name.
    ['C=SE,O=Exa\\, mple+OU=Unit,CN=client one,organizationIdentifier=PSDGB-OB-123', false],
    // One RDN fewer, one more, a value changed, the multi-valued RDN split.
    ['CN=client one,O=Exa\\, mple+OU=Unit,C=SE', false],
    ['organizationIdentifier=PSDGB-OB-123,CN=client one,O=Exa\\, mple+OU=Unit,C=SE,DC=x', false],
    ['organizationIdentifier=PSDGB-OB-123,CN=client two,O=Exa\\, mple+OU=Unit,C=SE', false],
    ['organizationIdentifier=PSDGB-OB-123,CN=client one,O=Exa\\, mple,OU=Unit,C=SE', false],
  ];
  const actual = parseNodeSubject(NODE_SUBJECT);

  for (const [configured, same] of table) {
    it(`${configured}: ${same ? 'the same name' : 'another name'}`, () => {
      const expected = parseRfc4514(configured);
      expect(expected).toBeDefined();
      expect(actual).toBeDefined();
      if (expected === undefined || actual === undefined) return;
      expect(sameDistinguishedName(expected, actual)).toBe(same);
    });
  }

  // The last: a comma left unescaped leaves ' mple+OU=Unit' without a type.
  it.each([
    'CN=a\\',
    'CN',
    '=a',
    'CN=a,,O=b',
    'CN=a,',
    '',
    'C N=a',
    'CN=\\ff',
    'organizationIdentifier=PSDGB-OB-123,CN=client one,O=Exa, mple+OU=Unit,C=SE',
  ])('%j is no name', (text) => {
    expect(parseRfc4514(text)).toBeUndefined();
  });
});

describe('certificates made by openssl', () => {
  let pki: MtlsPki;
  let certificate: X509Certificate;

  beforeAll(async () => {
    pki = await createMtlsPki();
    const made = await issueCertificate(
      pki.dir,
      'names',
      '/C=SE/O=Example\\, Inc./CN=names client',
      [
        'subjectAltName=@alt',
        '[alt]',
        'DNS.1=Client.Example.COM',
        'URI.1=https://tpp.example.com/a,b',
        'IP.1=::1',
        'IP.2=10.0.0.1',
        'email.1=Ops@Example.com',
        '',
      ].join('\n'),
    );
    certificate = new X509Certificate(await readFile(made.cert));
  });

  afterAll(async () => {
    await pki?.remove();
  });

  it("the subject, as Node renders it, is the configured RFC 4514 string's name", () => {
    const actual = parseNodeSubject(certificate.subject);
    const expected = parseRfc4514('CN=names client,O=Example\\, Inc.,C=SE');
    expect(actual && expected && sameDistinguishedName(expected, actual)).toBe(true);
  });

  it('a URI with a comma is one entry (Node quotes it), never two', () => {
    expect(parseSubjectAltNames(certificate.subjectAltName ?? '')).toContainEqual({
      type: 'uri',
      value: 'https://tpp.example.com/a,b',
    });
  });

  const table: Array<[SanType, string, boolean]> = [
    ['dns', 'client.example.com', true],
    ['dns', 'CLIENT.EXAMPLE.COM', true],
    ['dns', 'example.com', false],
    ['dns', '*.example.com', false],
    ['uri', 'https://tpp.example.com/a,b', true],
    ['uri', 'https://tpp.example.com/a', false],
    ['uri', 'HTTPS://tpp.example.com/a,b', false],
    ['ip', '::1', true],
    ['ip', '0:0:0:0:0:0:0:1', true],
    ['ip', '10.0.0.1', true],
    ['ip', '10.0.0.2', false],
    ['email', 'Ops@example.COM', true],
    ['email', 'ops@example.com', false],
    // A value of another type never matches.
    ['dns', 'https://tpp.example.com/a,b', false],
    ['email', 'client.example.com', false],
  ];
  for (const [type, value, matches] of table) {
    it(`${type} ${value}: ${matches ? 'carried' : 'not carried'}`, () => {
      expect(hasSubjectAltName(certificate, type, value)).toBe(matches);
    });
  }

  it.each(['DNS:a, URI:"unterminated', 'DNS:a,URI:b', 'no colon'])('%j cannot be read', (text) => {
    expect(parseSubjectAltNames(text)).toBeUndefined();
  });
});
