/**
 * The oracle: given every byte a client received, what in it is wider than what was issued.
 *
 * The response is read the way a client may read it: the status line and each header line; the
 * body with its content codings undone (gzip, deflate, br) and in its declared charset; every
 * text then also percent-decoded, HTML-character-reference-decoded and JSON-unescaped (in any
 * order, a few rounds), and every compact JWS/JWE-shaped string in it decoded (header and
 * payload), which is where scopegate's own tokens carry their claims. Each reading is searched
 * for:
 * - any piece of a token the upstream issued (token-ledger.ts): never legitimate anywhere;
 * - authorization markers (wide-claims.ts): never legitimate anywhere;
 * - identity markers outside `allowedIdentity` (what the issued scope releases).
 *
 * What is legitimate is what scopegate itself issued (its tokens carry none of the above), the
 * client's own credentials and parameters (they hold no upstream token or marker), and the
 * identity claims the issued scope covers. The oracle shares no code with scopegate.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Capture } from './client-capture.js';
import type { TokenLedger } from './token-ledger.js';
import { AUTHORIZATION_MARKERS, IDENTITY_MARKERS } from './wide-claims.js';

export interface Finding {
  /** Where in the response: `status line`, `header location`, `body`, `body (JWT payload)`. */
  where: string;
  /** What: `access_token`, `id_token`, `refresh_token`, or `claim <marker>`. */
  what: string;
  /** A few characters around it, to find it by eye. */
  excerpt: string;
}

const MAX_DECODED = 8 * 1024 * 1024;

function undoCodings(body: Buffer, codings: string): Buffer | undefined {
  let out = body;
  const list = codings
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity')
    .reverse();
  try {
    for (const coding of list) {
      const limit = { maxOutputLength: MAX_DECODED };
      if (coding === 'gzip' || coding === 'x-gzip') out = gunzipSync(out, limit);
      else if (coding === 'br') out = brotliDecompressSync(out, limit);
      else if (coding === 'deflate') {
        try {
          out = inflateSync(out, limit);
        } catch {
          out = inflateRawSync(out, limit);
        }
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  return out;
}

function percentDecoded(text: string): string {
  return text
    .replace(/\+/g, ' ')
    .replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
      Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'),
    );
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function entityDecoded(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);?/g, (whole, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) {
      return String.fromCodePoint(Number.parseInt(ref.slice(2), 16) % 0x110000);
    }
    if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)) % 0x110000);
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

function jsonUnescaped(text: string): string {
  return text
    .replace(/\\u([0-9A-Fa-f]{4})/g, (_m, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
    .replace(/\\(["\\/])/g, '$1');
}

const TRANSFORMS: ReadonlyArray<[string, RegExp, (text: string) => string]> = [
  ['percent-decoded', /%[0-9A-Fa-f]{2}|\+/, percentDecoded],
  ['entity-decoded', /&[#A-Za-z]/, entityDecoded],
  ['json-unescaped', /\\[u"\\/]/, jsonUnescaped],
];

const JOSE_SHAPED = /eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}/g;

/** Every reading of `text` a client may make, labelled. */
function readings(text: string, label: string): Array<[string, string]> {
  const seen = new Map<string, string>([[text, label]]);
  let frontier: Array<[string, string]> = [[text, label]];
  for (let round = 0; round < 3 && frontier.length > 0; round++) {
    const next: Array<[string, string]> = [];
    for (const [current, how] of frontier) {
      for (const [name, applies, transform] of TRANSFORMS) {
        if (!applies.test(current)) continue;
        const out = transform(current);
        if (!seen.has(out)) {
          seen.set(out, `${how}, ${name}`);
          next.push([out, `${how}, ${name}`]);
        }
      }
    }
    frontier = next;
  }
  const out = [...seen].map(([t, how]) => [t, how] as [string, string]);
  for (const [current, how] of [...out]) {
    for (const match of current.matchAll(JOSE_SHAPED)) {
      for (const [index, segment] of match[0].split('.').slice(0, 2).entries()) {
        const decoded = Buffer.from(segment, 'base64url').toString('utf8');
        if (decoded.startsWith('{')) {
          const where = `${how} (JWT ${index === 0 ? 'header' : 'payload'})`;
          out.push([decoded, where], [jsonUnescaped(decoded), where]);
        }
      }
    }
  }
  return out;
}

function excerpt(text: string, at: number, length: number): string {
  const start = Math.max(0, at - 24);
  return JSON.stringify(text.slice(start, Math.min(text.length, at + length + 24)));
}

function charsetOf(lines: Array<[string, string]>): BufferEncoding {
  const type = lines.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase() ?? 'utf-8';
  if (charset === 'utf-16le' || charset === 'utf-16') return 'utf16le';
  if (charset === 'iso-8859-1' || charset === 'latin1') return 'latin1';
  return 'utf8';
}

export function findLeaks(
  capture: Capture,
  ledger: TokenLedger,
  allowedIdentity: ReadonlySet<string>,
): Finding[] {
  const texts: Array<[string, string]> = [['status line', capture.statusLine]];
  for (const [name, value] of capture.headerLines)
    texts.push([`header ${name.toLowerCase()}`, value]);
  const codings = capture.headerLines
    .filter(([name]) => name.toLowerCase() === 'content-encoding')
    .map(([, value]) => value)
    .join(',');
  const decoded = undoCodings(capture.body, codings) ?? capture.body;
  texts.push(['body', decoded.toString(charsetOf(capture.headerLines))]);
  if (decoded !== capture.body) texts.push(['body (as sent)', capture.body.toString('latin1')]);
  // Compressed bytes relayed without their Content-Encoding still hold the token: a client that
  // tries the codings (or sniffs gzip's magic number) reads it.
  for (const coding of ['gzip', 'deflate', 'br']) {
    const sniffed = codings === '' ? undoCodings(decoded, coding) : undefined;
    if (sniffed !== undefined && sniffed.length > 0) {
      texts.push([`body (undeclared ${coding})`, sniffed.toString(charsetOf(capture.headerLines))]);
    }
  }

  const markers: Array<[string, string]> = [
    ...AUTHORIZATION_MARKERS.map((m) => [m, `claim ${m}`] as [string, string]),
    ...IDENTITY_MARKERS.filter((m) => !allowedIdentity.has(m.value)).map(
      (m) => [m.value, `${m.scope} claim beyond the issued scope`] as [string, string],
    ),
  ];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (finding: Finding) => {
    const key = `${finding.where}|${finding.what}`;
    if (!seen.has(key)) {
      seen.add(key);
      findings.push(finding);
    }
  };
  for (const [where, text] of texts) {
    for (const [reading, how] of readings(text, where)) {
      const hit = ledger.find(reading);
      if (hit !== undefined) {
        add({
          where: how,
          what: `upstream ${hit.kind}`,
          excerpt: excerpt(reading, reading.indexOf(hit.window), hit.window.length),
        });
      }
      for (const [marker, what] of markers) {
        const at = reading.indexOf(marker);
        if (at >= 0) add({ where: how, what, excerpt: excerpt(reading, at, marker.length) });
      }
    }
  }
  return findings;
}
