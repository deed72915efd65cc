import { describe, expect, it } from 'vitest';
import { CENSOR, redactSecrets } from '../../proxy/observability/log-redact.js';

describe('log redaction', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a top-level secret', { client_secret: 's' }, { client_secret: CENSOR }],
    [
      'a nested secret',
      { a: { b: { refresh_token: 't' } } },
      { a: { b: { refresh_token: CENSOR } } },
    ],
    [
      'header names in any case',
      { h: { Authorization: 'Basic x' } },
      { h: { Authorization: CENSOR } },
    ],
    [
      'secrets inside arrays',
      { list: [{ password: 'p' }, 1] },
      { list: [{ password: CENSOR }, 1] },
    ],
    ['code inside a request body', { body: { code: 'c' } }, { body: { code: CENSOR } }],
    [
      'code deep inside a request',
      { req: { query: { code: 'c' } } },
      { req: { query: { code: CENSOR } } },
    ],
    [
      'an error code outside containers',
      { err: { code: 'ECONNREFUSED' } },
      { err: { code: 'ECONNREFUSED' } },
    ],
    [
      'plain fields',
      { clientId: 'c', outcome: 'issued', status: 200 },
      { clientId: 'c', outcome: 'issued', status: 200 },
    ],
  ])('%s', (_name, record, expected) => {
    expect(redactSecrets(record)).toEqual(expected);
  });

  it('finds secrets in any case however many other names the logs have seen', () => {
    // Lower-cased names are kept in a bounded map: past its bound it starts again, never wrong.
    for (let round = 0; round < 3; round++) {
      const many = Object.fromEntries(
        Array.from({ length: 1500 }, (_, index) => [`Name${round}_${index}`, index]),
      );
      expect(redactSecrets({ ...many, Client_Secret: 's' }).Client_Secret).toBe(CENSOR);
      expect(redactSecrets({ h: { AUTHORIZATION: 'Basic x' } })).toEqual({
        h: { AUTHORIZATION: CENSOR },
      });
    }
  });

  it('never modifies the caller objects, and returns them as they are when clean', () => {
    const headers = { authorization: 'Bearer x', accept: 'json' };
    const record = { headers };
    const redacted = redactSecrets(record);
    expect(headers.authorization).toBe('Bearer x');
    expect(redacted).toEqual({ headers: { authorization: CENSOR, accept: 'json' } });
    const clean = { a: { b: 1 } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it('keeps an error readable while hiding what it carries', () => {
    const error = Object.assign(new Error('boom'), { code: 'E1', access_token: 'eyJ.secret' });
    const out = redactSecrets({ err: error }).err as Record<string, unknown>;
    expect(out).toMatchObject({ message: 'boom', code: 'E1', access_token: CENSOR });
  });
});
