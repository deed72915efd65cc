/**
 * The leak oracle as a property: across authorization requests in every encoding a client can
 * choose (query or body; form, JSON, multipart, text/plain, no type, octet-stream; the parameter
 * name in any case, percent-encoded per character, encoded twice, padded; the value in any
 * separator; repeated parameters), sent to the authorization endpoint, PAR, or any other path, to
 * a lenient upstream that answers any token request with its own tokens (and, on some paths,
 * always leaks them through some carrier), no byte the client receives holds an upstream token.
 */
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';
import { startGatewayBeforeLeakyUpstream } from '../support/leaky-gateway.js';
import {
  type LeakyTokens,
  type LeakyUpstream,
  startLeakyUpstream,
} from '../support/leaky-upstream.js';
import { exchange } from '../support/raw-exchange.js';

let upstream: LeakyUpstream;
let gateway: TestGateway;

/** Carriers the upstream answers `/always/<i>` with, whatever the request. */
const ALWAYS: Array<(t: LeakyTokens) => (res: ServerResponse) => void> = [
  (t) => (res) => {
    res.writeHead(302, { location: `https://app.example/cb#access_token=${t.access}` });
    res.end();
  },
  (t) => (res) => {
    res.writeHead(303, { location: `/cb?x=${encodeURIComponent(t.id)}` });
    res.end();
  },
  (t) => (res) => {
    res.writeHead(200, { 'content-type': 'application/xhtml+xml' });
    res.end(`<form><input name="refresh_token" value="${t.refresh}"/></form>`);
  },
  (t) => (res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ error: 'invalid_request', error_description: `bad ${t.foreignIssuer}` }),
    );
  },
  (t) => (res) => {
    res.writeHead(200, { refresh: `0;url=/cb#t=${t.unsigned}` });
    res.end();
  },
];

beforeAll(async () => {
  upstream = await startLeakyUpstream();
  for (const [at, leak] of ALWAYS.entries())
    upstream.leakOn(`/always/${at}`, leak(upstream.tokens));
  gateway = await startGatewayBeforeLeakyUpstream(upstream);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** `response_type` spelled as a client may: per-character case and escapes, padding, layers. */
const nameArb = fc
  .record({
    chars: fc.array(fc.constantFrom('plain', 'upper', 'escaped'), { minLength: 13, maxLength: 13 }),
    twice: fc.boolean(),
    pad: fc.constantFrom('', '+', '%20'),
  })
  .map(({ chars, twice, pad }) => {
    const spelled = [...'response_type']
      .map((char, at) => {
        const how = chars[at];
        if (how === 'upper') return char.toUpperCase();
        if (how === 'escaped') {
          const hex = `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
          return twice ? hex.replace('%', '%25') : hex;
        }
        return char;
      })
      .join('');
    return `${pad}${spelled}${pad}`;
  });

const valueArb = fc
  .record({
    parts: fc.shuffledSubarray(['code', 'token', 'id_token'], { minLength: 1 }),
    separator: fc.constantFrom(' ', '+', '%20', ',', '%2B'),
    upper: fc.boolean(),
  })
  .filter(({ parts }) => parts.some((part) => part !== 'code'))
  .map(({ parts, separator, upper }) => {
    const joined = parts.join(separator);
    return upper ? joined.toUpperCase() : joined;
  });

const caseArb = fc.record({
  name: nameArb,
  value: valueArb,
  repeated: fc.constantFrom('none', 'before', 'after'),
  carrier: fc.constantFrom('query', 'form', 'json', 'multipart', 'text', 'untyped', 'octet'),
  path: fc.constantFrom(
    '/authorize',
    '/par',
    '/elsewhere',
    ...ALWAYS.map((_l, at) => `/always/${at}`),
  ),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function request(generated: Case): {
  target: string;
  headers: Record<string, string>;
  body?: string;
} {
  const pairs: Array<[string, string]> = [
    ['client_id', 'c'],
    [generated.name, generated.value],
  ];
  if (generated.repeated === 'before') pairs.unshift(['response_type', 'code']);
  if (generated.repeated === 'after') pairs.push(['response_type', 'code']);
  const joined = pairs.map(([name, value]) => `${name}=${value}`);
  switch (generated.carrier) {
    case 'query':
      return { target: `${generated.path}?${joined.join('&')}`, headers: {} };
    case 'form':
      return {
        target: generated.path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: joined.join('&'),
      };
    case 'json':
      return {
        target: generated.path,
        headers: { 'content-type': 'application/json' },
        body: `{${pairs.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`,
      };
    case 'multipart':
      return {
        target: generated.path,
        headers: { 'content-type': 'multipart/form-data; boundary=zz' },
        body: `${pairs.map(([name, value]) => `--zz\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('')}--zz--\r\n`,
      };
    case 'text':
      return {
        target: generated.path,
        headers: { 'content-type': 'text/plain' },
        body: joined.join('\r\n'),
      };
    case 'untyped':
      return { target: generated.path, headers: {}, body: joined.join('&') };
    default:
      return {
        target: generated.path,
        headers: { 'content-type': 'application/octet-stream' },
        body: joined.join('&'),
      };
  }
}

describe('the front-channel leak oracle', () => {
  it('no byte a client receives holds an upstream token, whatever the request encoding', async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (generated) => {
        cases += 1;
        const { target, headers, body } = request(generated);
        const answer = await exchange(`${gateway.url}${target}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers,
          ...(body === undefined ? {} : { body }),
        }).catch(() => undefined); // a connection scopegate closed hands out nothing
        if (answer === undefined) return;
        for (const secret of upstream.secrets()) expect(answer.all).not.toContain(secret);
        // If scopegate passed it at all, the upstream answered it without a token.
        if (answer.status < 400) expect(generated.path).toMatch(/^\/(par|elsewhere)$/);
      }),
      { numRuns: 300 },
    );
    expect(cases).toBe(300);
  });
});
