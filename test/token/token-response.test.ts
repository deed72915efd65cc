/**
 * Step "answer": the client's response is built from known members only. access_token,
 * expires_in and scope are scopegate's (RFC 6749 §5.1, §3.3); refresh_token and id_token travel
 * only as strings, other upstream members only when tokens.response_members lists them.
 */
import { describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../proxy/issued/access-token.js';
import {
  carriedUpstreamMembers,
  NO_STORE,
  tokenAnswer,
} from '../../proxy/issued/token-response.js';

const issued: IssuedToken = { token: 'scopegate.jwt.token', expiresIn: 300, claims: {} };

function answer(upstream: Record<string, unknown>, scopes: string[], allowlist: string[] = []) {
  return tokenAnswer(upstream, {}, issued, scopes, carriedUpstreamMembers(upstream, allowlist));
}

describe('tokenAnswer', () => {
  it('replaces the token, lifetime and scope, and keeps only known members', () => {
    const { body } = answer(
      {
        access_token: 'upstream.jwt.token',
        token_type: 'Bearer',
        expires_in: 86400,
        scope: 'read:claims write:claims delete:claims',
        refresh_token: 'r',
        debug: 'granted everything',
      },
      ['read:claims'],
    );
    expect(body).toEqual({
      access_token: 'scopegate.jwt.token',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'read:claims',
      refresh_token: 'r',
    });
  });

  it('passes members the allowlist names', () => {
    const { body } = answer({ access_token: 'u', tenant: 'acme' }, ['a'], ['tenant']);
    expect(body.tenant).toBe('acme');
  });

  it('drops the upstream scope when nothing is issued as scope, rather than repeat it', () => {
    const { body } = answer({ access_token: 'u', scope: 'admin' }, []);
    expect(body).not.toHaveProperty('scope');
    expect(body.access_token).toBe('scopegate.jwt.token');
  });

  it('adds scope when the upstream sent none', () => {
    expect(answer({ access_token: 'u' }, ['a', 'b']).body.scope).toBe('a b');
  });

  it('never returns the upstream token, whatever members the upstream added', () => {
    const { body } = answer({ access_token: 'upstream', expires_in: 'never' }, ['a']);
    expect(JSON.stringify(body)).not.toContain('upstream');
  });

  it('fails closed when an allowlisted member echoes the upstream token', () => {
    expect(() =>
      answer({ access_token: 'upstream-token', echo: 'x upstream-token' }, ['a'], ['echo']),
    ).toThrow(/would reach the client/);
  });

  it('answers with no-store caching headers', () => {
    expect(NO_STORE).toEqual({ 'cache-control': 'no-store', pragma: 'no-cache' });
    expect(answer({ access_token: 'u' }, []).headers).toMatchObject(NO_STORE);
  });
});
