/**
 * Step "answer": the client's response keeps the upstream's other members, and access_token,
 * expires_in and scope are scopegate's (RFC 6749 §5.1, §3.3).
 */
import { describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../proxy/token/issue-token.js';
import { NO_STORE, tokenResponseBody } from '../../proxy/token/token-response.js';

const issued: IssuedToken = { token: 'scopegate.jwt.token', expiresIn: 300, claims: {} };

describe('tokenResponseBody', () => {
  it('replaces the token, lifetime and scope, keeping every other member', () => {
    const body = tokenResponseBody(
      {
        access_token: 'upstream.jwt.token',
        token_type: 'Bearer',
        expires_in: 86400,
        scope: 'read:claims write:claims delete:claims',
        id_token: 'id.token.value',
        refresh_token: 'r',
      },
      issued,
      ['read:claims'],
    );
    expect(body).toEqual({
      access_token: 'scopegate.jwt.token',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'read:claims',
      id_token: 'id.token.value',
      refresh_token: 'r',
    });
  });

  it('drops the upstream scope when nothing is issued as scope, rather than repeat it', () => {
    const body = tokenResponseBody({ access_token: 'u', scope: 'admin' }, issued, []);
    expect(body).not.toHaveProperty('scope');
    expect(body.access_token).toBe('scopegate.jwt.token');
  });

  it('adds scope when the upstream sent none', () => {
    const body = tokenResponseBody({ access_token: 'u' }, issued, ['a', 'b']);
    expect(body.scope).toBe('a b');
  });

  it('never returns the upstream token, whatever members the upstream added', () => {
    const body = tokenResponseBody({ access_token: 'upstream', expires_in: 'never' }, issued, [
      'a',
    ]);
    expect(JSON.stringify(body)).not.toContain('upstream');
  });

  it('answers with no-store caching headers', () => {
    expect(NO_STORE).toEqual({ 'cache-control': 'no-store', pragma: 'no-cache' });
  });
});
