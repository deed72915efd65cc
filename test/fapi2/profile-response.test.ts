/**
 * The authorization response of a held flow as it passes scopegate (proxy/relay/profile-response.ts),
 * case by case, against a real in-process store: what the client gets, what is bound, and what is
 * refused.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { completeHeldResponse } from '../../proxy/relay/profile-response.js';
import { AuthorizationStore } from '../../proxy/runtime/authorization-store.js';
import { MINIMAL } from '../config/minimal-config.js';

const parsed = parseConfigText(MINIMAL, 'cfg.yaml', {});
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
const config = parsed.config;
const ISSUER = config.issuer;
const REDIRECT = 'https://app.example/cb';

async function underWay(clientState?: string) {
  const runtime = {
    config,
    authorizationStore: new AuthorizationStore(config.pushed_authorization),
  };
  const handle = `sgpar1.${Math.random().toString(36).slice(2)}`;
  await runtime.authorizationStore.put(
    'pending',
    handle,
    {
      clientId: 'app',
      redirectUri: REDIRECT,
      codeChallenge: 'c'.repeat(43),
      ...(clientState === undefined ? {} : { clientState }),
      upstreamParams: [],
    },
    Date.now() + 60_000,
  );
  return { runtime, handle };
}

describe('a held authorization response', () => {
  it('in the fragment: state given back, iss added, the code bound once', async () => {
    const { runtime, handle } = await underWay('s1');
    const out = await completeHeldResponse(`${REDIRECT}#code=abc&state=${handle}`, runtime);
    expect(typeof out).toBe('string');
    const fragment = new URLSearchParams(new URL(out as string).hash.slice(1));
    expect(Object.fromEntries(fragment)).toEqual({ code: 'abc', state: 's1', iss: ISSUER });
    const binding = await runtime.authorizationStore.take('code', 'abc');
    expect(binding).toMatchObject({ clientId: 'app', redirectUri: REDIRECT });
    expect(await runtime.authorizationStore.take('code', 'abc')).toBeUndefined();
  });

  it('an error response: state and iss, nothing bound', async () => {
    const { runtime, handle } = await underWay();
    const out = await completeHeldResponse(
      `${REDIRECT}?error=access_denied&state=${handle}`,
      runtime,
    );
    const query = new URL(out as string).searchParams;
    expect(Object.fromEntries(query)).toEqual({ error: 'access_denied', iss: ISSUER });
  });

  const refused: Array<[string, (handle: string) => string, number]> = [
    [
      'another issuer',
      (handle) => `${REDIRECT}?code=a&state=${handle}&iss=https://idp.example`,
      502,
    ],
    [
      'iss twice',
      (handle) => `${REDIRECT}?code=a&state=${handle}&iss=${ISSUER}&iss=${ISSUER}`,
      502,
    ],
    ['two codes', (handle) => `${REDIRECT}?code=a&code=b&state=${handle}`, 502],
    [
      'a state of scopegate nobody is waiting for',
      () => `${REDIRECT}?code=a&state=sgpar1.unknown`,
      400,
    ],
  ];

  it.each(refused)('refused: %s', async (_name, location, status) => {
    const { runtime, handle } = await underWay();
    const out = await completeHeldResponse(location(handle), runtime);
    expect(out).toBeInstanceOf(OAuthError);
    expect((out as OAuthError).status).toBe(status);
  });

  it('answered twice: the second is refused', async () => {
    const { runtime, handle } = await underWay();
    expect(typeof (await completeHeldResponse(`${REDIRECT}?code=a&state=${handle}`, runtime))).toBe(
      'string',
    );
    expect(
      await completeHeldResponse(`${REDIRECT}?code=a&state=${handle}`, runtime),
    ).toBeInstanceOf(OAuthError);
  });

  it('a login step carrying the state elsewhere is passed on, and the response still binds', async () => {
    const { runtime, handle } = await underWay();
    const step = `https://idp.example/login?state=${handle}`;
    expect(await completeHeldResponse(step, runtime)).toBe(step);
    expect(typeof (await completeHeldResponse(`${REDIRECT}?code=z&state=${handle}`, runtime))).toBe(
      'string',
    );
  });
});
