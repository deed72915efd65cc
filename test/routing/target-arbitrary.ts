/**
 * Generated request targets, biased toward spellings of the protected endpoints: pieces of their
 * paths in other letter cases and encodings, dot segments, matrix parameters, suffixes,
 * separators and their encodings, malformed and over-long escapes.
 */
import fc from 'fast-check';

const PIECES = [
  ...['oauth', 'token', 'OAuth', 'TOKEN', '%74oken', '%6Fauth', 't%6Fken', 'tokens'],
  ...['realms', 'acme', 'protocol', 'openid-connect', 'api', 'legacy', 'x'],
  ...['.well-known', 'openid-configuration', 'oauth-authorization-server', 'jwks.json'],
  ...['.', '..', '%2e', '%2E%2e', '.%2e', '..;', ';', ';a=b', '%3b', '%3B'],
  ...['/', '//', '/', '/', '\\', '%2f', '%2F', '%5c', '%00', '%25', '%2574', '%252f'],
  ...['.json', '~', '%20', '-x', '_', '%7e', '?', '?a=1', '#', '&', '='],
  ...['%', '%zz', '%c0%af', '%c0%ae', '%e0%80%ae', '%ff', '\u00e9', '%C3%A9', '%u002f'],
] as const;

const structured = fc
  .tuple(
    fc.constantFrom('/', '/', '/', '//', '', 'http://gateway.test/', 'http://other.test/'),
    fc.array(fc.constantFrom(...PIECES), { maxLength: 14 }),
  )
  .map(([start, pieces]) => `${start}${pieces.join('')}`);

const printable = fc
  .string({ unit: fc.constantFrom(...'/%.;?#\\aoktenAOKTEN2345cCfF0~ '.split('')), maxLength: 40 })
  .map((text) => `/${text}`);

/** A request target as a client could put it on the request line. */
export const requestTarget: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: structured },
  { weight: 1, arbitrary: printable },
);

const encodeChar = (char: string) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** One segment of a protected path, respelled the ways servers may still route to it. */
function respelled(segment: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom('same', 'upper', 'encoded', 'double-encoded'),
      fc.nat(Math.max(segment.length - 1, 0)),
      fc.constantFrom('', '', '', ';x', ';', '.json', '~', '%20', '.', '%2e', 'x', '%00', '%2f'),
      fc.constantFrom('', '', '', './', 'x/../', '/', '%2e/', '..;/x/'),
    )
    .map(([how, at, suffix, prefix]) => {
      const char = segment[at] ?? '';
      const changed =
        how === 'upper'
          ? segment.toUpperCase()
          : how === 'encoded'
            ? `${segment.slice(0, at)}${encodeChar(char)}${segment.slice(at + 1)}`
            : how === 'double-encoded'
              ? `${segment.slice(0, at)}%25${encodeChar(char).slice(1)}${segment.slice(at + 1)}`
              : segment;
      return `${prefix}${changed}${suffix}`;
    });
}

/** Spellings of one of `paths` (protected upstream paths), often with a tail or a query. */
export function spellingOf(paths: readonly string[]): fc.Arbitrary<string> {
  return fc
    .constantFrom(...paths)
    .chain((path) => {
      const segments = path.split('/').filter(Boolean);
      return fc.tuple(
        fc.tuple(...segments.map(respelled)),
        fc.constantFrom('', '', '/', '/x', '.json', '?a=1', '/..', '//'),
        fc.boolean(),
      );
    })
    .map(([segments, tail, absolute]) => {
      const path = `/${segments.join('/')}${tail}`;
      return absolute ? `http://gateway.test${path}` : path;
    });
}
