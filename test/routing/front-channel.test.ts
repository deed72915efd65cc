/**
 * The front channel never hands out the upstream's access token: authorization requests whose
 * response type includes `token` (implicit, hybrid) are refused by scopegate with a plain 400 on
 * every proxied path, whether the parameter is in the query, a form or JSON body, or a request
 * object; nothing of them reaches the upstream. Code-flow requests and other bodies pass through
 * byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frontChannelRefusal, queryParams } from '../../proxy/http/front-channel.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { type RecordingUpstream, startRecordingUpstream } from './recording-upstream.js';

/** An unsigned request object (RFC 9101) with these claims. */
function requestObject(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

describe('frontChannelRefusal', () => {
  it.each<[string, string, string | undefined]>([
    ['the code flow', 'response_type=code&client_id=c', undefined],
    [
      'code id_token (the upstream ID token)',
      'response_type=code%20id_token',
      'unsupported_response_type',
    ],
    ['id_token alone', 'response_type=id_token', 'unsupported_response_type'],
    [
      'ID_TOKEN upper case, plus-separated',
      'response_type=code+ID_TOKEN',
      'unsupported_response_type',
    ],
    ['none', 'response_type=none', undefined],
    ['implicit', 'response_type=token', 'unsupported_response_type'],
    ['implicit with an ID token', 'response_type=id_token%20token', 'unsupported_response_type'],
    ['hybrid', 'response_type=code+id_token+token', 'unsupported_response_type'],
    ['hybrid, other order', 'response_type=token%20code', 'unsupported_response_type'],
    ['upper case value', 'response_type=TOKEN', 'unsupported_response_type'],
    ['upper case name', 'RESPONSE_TYPE=token', 'unsupported_response_type'],
    ['a repeated parameter', 'response_type=code&response_type=token', 'unsupported_response_type'],
    ['`;` as a separator', 'client_id=c;response_type=token', 'unsupported_response_type'],
    [
      'a request object asking for a token',
      `request=${requestObject({ response_type: 'token' })}`,
      'unsupported_response_type',
    ],
    [
      'a code-flow request object',
      `request=${requestObject({ response_type: 'code' })}`,
      undefined,
    ],
    ['an encrypted request object', 'request=a.b.c.d.e', 'invalid_request_object'],
    ['a request object that is not JSON', 'request=a.b.c', 'invalid_request_object'],
    [
      'a nested request object',
      `request=${requestObject({ request: requestObject({ response_type: 'code' }) })}`,
      'invalid_request_object',
    ],
    [
      'request_uri by reference',
      'request_uri=https://attacker.test/ro',
      'request_uri_not_supported',
    ],
    ['a pushed request URN', 'request_uri=urn:ietf:params:oauth:request_uri:abc', undefined],
  ])('%s', (_what, query, error) => {
    expect(frontChannelRefusal(queryParams(query))?.error).toBe(error);
  });
});

describe('a gateway in front of a recording upstream', () => {
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      config: { upstream: { url: upstream.url, timeout: '2s', token_path: undefined } },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  async function expectRefused(response: Response, error: string) {
    const id = response.headers.get('x-request-id') ?? '';
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(((await response.json()) as { error: string }).error).toBe(error);
    expect(upstream.byRequestId(id)).toEqual([]);
  }

  it.each([
    '/authorize?response_type=token&client_id=c&redirect_uri=https://attacker.test/cb',
    '/auth?response_type=code%20id_token%20token&client_id=c',
    '/any/other/path?response_type=token',
    `/authorize?client_id=c&request=${requestObject({ response_type: 'id_token token' })}`,
  ])('refuses GET %s without a redirect', async (path) => {
    await expectRefused(await fetch(`${gateway.url}${path}`), 'unsupported_response_type');
  });

  it('refuses a token response type in a POSTed form and in a pushed authorization request', async () => {
    for (const path of ['/authorize', '/request', '/par']) {
      const response = await fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'client_id=c&response_type=code+token&redirect_uri=https%3A%2F%2Fapp.test%2Fcb',
      });
      await expectRefused(response, 'unsupported_response_type');
    }
  });

  it('refuses a token response type in a JSON body', async () => {
    const response = await fetch(`${gateway.url}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'c', response_type: 'token' }),
    });
    await expectRefused(response, 'unsupported_response_type');
  });

  it('passes the code flow, and forwards a checked body byte for byte', async () => {
    const get = await fetch(`${gateway.url}/authorize?response_type=code&client_id=c`);
    expect(get.status).toBe(200);
    const body = 'client_id=c&response_type=code&state=%C3%A9t%C3%A9&x=a+b';
    const post = await fetch(`${gateway.url}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(post.status).toBe(200);
    const [seen] = upstream.byRequestId(post.headers.get('x-request-id') ?? '');
    expect(seen?.body).toBe(body);
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('streams other bodies through unread', async () => {
    const body = Buffer.alloc(200_000, 'response_type=token&');
    const response = await fetch(`${gateway.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(response.status).toBe(200);
    const [seen] = upstream.byRequestId(response.headers.get('x-request-id') ?? '');
    expect(seen?.body.length).toBe(body.length);
  });
});
