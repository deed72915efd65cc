/**
 * Every token the leak oracle's upstream ever issued, indexed so that a piece of one can be
 * found in a response:
 * - a signature segment, or any run of at least 2·GRAM−1 characters of one (such a run always
 *   holds a GRAM-long window starting at a multiple of GRAM): signatures are random, so a shared
 *   run is the token and nothing else;
 * - an opaque (refresh) token, likewise;
 * - a whole payload segment. Parts of a payload are not searched for: scopegate legitimately
 *   re-signs claims the upstream wrote (an ID token's `sub`, `nonce`...), and the same JSON bytes
 *   at the same alignment give the same base64url text.
 * Headers are not searched for: all of the upstream's JWTs share one, and it names no token.
 */

/** Window length; a shared run of 2·GRAM−1 = 31 characters is reported. */
export const GRAM = 16;

export type TokenKind = 'access_token' | 'id_token' | 'refresh_token';

export interface LedgerHit {
  kind: TokenKind;
  /** The shared text, to find it in the response by eye. */
  window: string;
}

const BASE64URL_RUN = /[A-Za-z0-9_-]{20,}/g;

export class TokenLedger {
  private readonly windows = new Map<string, TokenKind>();
  private readonly payloads = new Map<string, TokenKind>();

  add(token: string, kind: TokenKind): void {
    const segments = token.split('.');
    const random = segments.length === 3 ? (segments[2] as string) : token;
    if (segments.length === 3) this.payloads.set(segments[1] as string, kind);
    for (let at = 0; at + GRAM <= random.length; at += GRAM) {
      this.windows.set(random.slice(at, at + GRAM), kind);
    }
  }

  /** A piece of an issued token in `text`, if any. Linear in the text. */
  find(text: string): LedgerHit | undefined {
    for (let at = 0; at + GRAM <= text.length; at++) {
      const window = text.slice(at, at + GRAM);
      const kind = this.windows.get(window);
      if (kind !== undefined) return { kind, window };
    }
    for (const [run] of text.matchAll(BASE64URL_RUN)) {
      const kind = this.payloads.get(run);
      if (kind !== undefined) return { kind, window: run };
    }
    return undefined;
  }
}
