/**
 * Reading a client certificate from an ingress header (proxy/http/xfcc.ts,
 * proxy/http/certificate-header.ts), as tables: Envoy's XFCC grammar, ingress-nginx's URL-encoded
 * PEM and RFC 9440's byte sequence, well-formed and not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFromHeader } from '../../proxy/http/certificate-header.js';
import { parseXfcc } from '../../proxy/http/xfcc.js';
import { createMtlsPki, type MtlsPki } from './mtls-pki.js';

let pki: MtlsPki;

beforeAll(async () => {
  pki = await createMtlsPki();
});

afterAll(async () => {
  await pki?.remove();
});

describe('parseXfcc', () => {
  const table: Array<[header: string, elements: Array<Array<[string, string]>> | string]> = [
    [
      'By=a;Hash=b',
      [
        [
          ['by', 'a'],
          ['hash', 'b'],
        ],
      ],
    ],
    // Elements in order; keys case-insensitive, values case-sensitive.
    [
      'By=a;URI=X,BY=c;uri=Y',
      [
        [
          ['by', 'a'],
          ['uri', 'X'],
        ],
        [
          ['by', 'c'],
          ['uri', 'Y'],
        ],
      ],
    ],
    // Quoted values hold , ; = and \" ; a Subject is always quoted.
    [
      'Subject="CN=a,O=b;c";Hash=h',
      [
        [
          ['subject', 'CN=a,O=b;c'],
          ['hash', 'h'],
        ],
      ],
    ],
    ['Subject="say \\"hi\\""', [[['subject', 'say "hi"']]]],
    // Repeated SAN keys are kept, in order.
    [
      'DNS=a.test;DNS=b.test',
      [
        [
          ['dns', 'a.test'],
          ['dns', 'b.test'],
        ],
      ],
    ],
    // Lines combined by a proxy (", ") and spaces around separators.
    ['By=a, By=b', [[['by', 'a']], [['by', 'b']]]],
    [
      'By=a ; Hash=b',
      [
        [
          ['by', 'a'],
          ['hash', 'b'],
        ],
      ],
    ],
    [
      'Subject="x" ;Hash=b',
      [
        [
          ['subject', 'x'],
          ['hash', 'b'],
        ],
      ],
    ],
    // An unquoted = after the first stays in the value.
    ['By=a=b', [[['by', 'a=b']]]],
    // Garbage.
    ['', 'an empty element or pair'],
    ['By=a,,By=b', 'an empty element or pair'],
    ['By=a;', 'an empty element or pair'],
    ['By', 'a pair without ='],
    ['Subject="unterminated', 'an unterminated quoted value'],
    ['Subject="a"b', 'text after a quoted value'],
    ['Subject=a"b"', 'a quote inside a key or value'],
    ['"By"=a', 'a quote inside a key or value'],
    ['B y=a', 'a malformed key'],
    ['=a', 'a malformed key'],
  ];
  for (const [header, expected] of table) {
    it(`${JSON.stringify(header)}`, () => {
      const parsed = parseXfcc(header);
      if (typeof expected === 'string') {
        expect(parsed).toEqual({ ok: false, reason: expected });
      } else {
        const elements = expected.map((pairs) => pairs.map(([key, value]) => ({ key, value })));
        expect(parsed).toEqual({ ok: true, elements });
      }
    });
  }
});

describe('certificateFromHeader', () => {
  const subjectOf = (format: 'xfcc' | 'pem-urlencoded' | 'rfc9440', values: string[]) => {
    const found = certificateFromHeader(format, values);
    return found.ok ? found.certificate.subject : found.reason;
  };

  it('xfcc: the Cert of the last element, quoted or not, across header lines', () => {
    const client = encodeURIComponent(pki.client.cert);
    const other = encodeURIComponent(pki.selfSigned.cert);
    const table: Array<[string[], string]> = [
      [[`Hash=h;Cert=${client}`], 'CN=scopegate'],
      [[`Hash=h;Cert="${client}";Subject="CN=a,O=b"`], 'CN=scopegate'],
      [[`Cert=${other},By=spiffe://x;Cert=${client}`], 'CN=scopegate'],
      [[`Cert=${client}`, `Cert=${other}`], 'CN=self-signed client'],
      [
        [`Cert=${client},By=spiffe://x;Hash=h`],
        'the last X-Forwarded-Client-Cert element has no Cert',
      ],
      [
        [`Cert=${client};Cert=${other}`],
        'the last X-Forwarded-Client-Cert element has more than one Cert',
      ],
      [[`Cert="${client}`], 'malformed X-Forwarded-Client-Cert: an unterminated quoted value'],
      [['Cert=%E0%A4%A'], 'the certificate is not validly percent-encoded'],
      [['Cert=hello'], 'no PEM certificate'],
    ];
    for (const [values, expected] of table) {
      expect(subjectOf('xfcc', values), values.join(' | ').slice(0, 80)).toBe(expected);
    }
  });

  it('pem-urlencoded: exactly one percent-encoded PEM certificate in one header', () => {
    const pem = pki.client.cert;
    const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
    const broken = pem.replace(body.slice(10, 30), 'A'.repeat(20));
    const table: Array<[string[], string]> = [
      [[encodeURIComponent(pem)], 'CN=scopegate'],
      // ingress-nginx escapes less: + / = stay as they are, and + is never a space.
      [[pem.replace(/\n/g, '%0A').replace(/ /g, '%20')], 'CN=scopegate'],
      [[encodeURIComponent(pem + pki.ca)], 'more than one PEM certificate'],
      [[encodeURIComponent(`junk${pem}`)], 'text around the PEM certificate'],
      [[encodeURIComponent(broken)], 'the certificate is not a valid X.509 certificate'],
      [[encodeURIComponent(pem), encodeURIComponent(pem)], 'the header is repeated'],
      [['%'], 'the certificate is not validly percent-encoded'],
      [[''], 'no PEM certificate'],
    ];
    for (const [values, expected] of table) {
      expect(subjectOf('pem-urlencoded', values)).toBe(expected);
    }
  });

  it('rfc9440: a structured-field byte sequence of the DER', () => {
    const der = pki.client.certificate.raw.toString('base64');
    const table: Array<[string[], string]> = [
      [[`:${der}:`], 'CN=scopegate'],
      [[der], 'not a structured-field byte sequence'],
      [[`:${der}`], 'not a structured-field byte sequence'],
      [[`:${der.slice(0, 40)}:`], 'the certificate is not a valid X.509 certificate'],
      [[`:${der}:`, `:${der}:`], 'the header is repeated'],
    ];
    for (const [values, expected] of table) {
      expect(subjectOf('rfc9440', values)).toBe(expected);
    }
  });
});
