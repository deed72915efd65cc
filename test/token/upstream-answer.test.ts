/**
 * Step "check the upstream answer": only real errors are rebuilt as the client's error, and a
 * success must be a JSON object with a string access token; everything else fails closed as a
 * 502 the client sees as server_error, never the upstream's body.
 */
import { describe, expect, it } from 'vitest';
import {
  parseTokenResponse,
  upstreamErrorAnswer,
} from '../../proxy/endpoints/token/upstream-answer.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import type { UpstreamResponse } from '../../proxy/upstream/http-client.js';

function answer(status: number, body: string): UpstreamResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
}

function refusal(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected the answer to be refused');
}

describe('upstreamErrorAnswer', () => {
  it.each<[number, string]>([
    [400, '{"error":"invalid_client"}'],
    [401, '{"error":"access_denied","error_description":"Unauthorized"}'],
    [403, ''],
    [429, 'slow down'],
    [500, '<html>oops</html>'],
    [503, '{"error":"temporarily_unavailable"}'],
    [599, '[]'],
  ])('rebuilds a %i error with its status', (status, body) => {
    const error = upstreamErrorAnswer(answer(status, body));
    expect(error.kind).toBe('upstream_error');
    expect(error.status).toBe(status);
  });

  it.each<[string, number, string, string]>([
    ['a 201 with a token', 201, '{"access_token":"upstream"}', 'answered 201'],
    ['a redirect that would re-post credentials', 307, '', 'answered 307'],
    ['a 308', 308, '', 'answered 308'],
    ['a 204', 204, '', 'answered 204'],
    [
      'an error that carries a token',
      400,
      '{"error":"x","access_token":"upstream"}',
      'carries a token',
    ],
    ['a 500 that carries a token', 500, '{"access_token":"upstream"}', 'carries a token'],
  ])('refuses %s with a 502 upstream_untrusted', (_what, status, body, reason) => {
    const error = upstreamErrorAnswer(answer(status, body));
    expect(error.status).toBe(502);
    expect(error.kind).toBe('upstream_untrusted');
    expect(error.description).toContain(reason);
    expect(JSON.stringify(error.toJSON())).not.toContain('upstream"');
  });
});

describe('parseTokenResponse', () => {
  it('returns the upstream members of a token response', () => {
    const body = parseTokenResponse(
      answer(200, '{"access_token":"a.b.c","token_type":"Bearer","expires_in":60,"extra":1}'),
    );
    expect(body).toEqual({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 60, extra: 1 });
  });

  it.each<[string, string, string]>([
    ['not JSON', 'access_token=a.b.c', 'is not JSON'],
    ['a JSON array', '[{"access_token":"a.b.c"}]', 'is not a JSON object'],
    ['JSON null', 'null', 'is not a JSON object'],
    ['no access token', '{"token_type":"Bearer"}', 'has no access_token'],
    ['a numeric access token', '{"access_token":42}', 'has no access_token'],
    ['an object as access token', '{"access_token":{"a":1}}', 'has no access_token'],
  ])('refuses %s', (_what, body, reason) => {
    const error = refusal(() => parseTokenResponse(answer(200, body)));
    expect(error.status).toBe(502);
    expect(error.kind).toBe('upstream_untrusted');
    expect(error.description).toContain(reason);
  });
});
