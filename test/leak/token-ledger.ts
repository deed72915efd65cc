/**
 * Every token the leak oracle's upstream ever issued, indexed so that any piece of one can be
 * found in a response: the whole token, or any run of at least 2·GRAM−1 characters of one of its
 * segments (such a run always holds one GRAM-long window starting at a multiple of GRAM).
 *
 * The upstream writes its tokens so that no window can occur in scopegate's own output: the
 * protected header starts with a random `kid`, the payload with a random `jti` (scopegate never
 * carries an upstream `jti`, and its own claims start otherwise), refresh tokens are random.
 */

/** Window length; a shared run of 2·GRAM−1 = 31 characters is reported. */
export const GRAM = 16;

export type TokenKind = 'access_token' | 'id_token' | 'refresh_token';

export interface LedgerHit {
  kind: TokenKind;
  /** The shared window, enough to find it in the response by eye. */
  window: string;
}

export class TokenLedger {
  private readonly windows = new Map<string, TokenKind>();
  readonly tokens = new Map<string, TokenKind>();

  add(token: string, kind: TokenKind): void {
    this.tokens.set(token, kind);
    for (const segment of token.split('.')) {
      for (let at = 0; at + GRAM <= segment.length; at += GRAM) {
        this.windows.set(segment.slice(at, at + GRAM), kind);
      }
    }
  }

  /** The first piece of an issued token in `text`, if any. Linear in the text. */
  find(text: string): LedgerHit | undefined {
    for (let at = 0; at + GRAM <= text.length; at++) {
      const window = text.slice(at, at + GRAM);
      const kind = this.windows.get(window);
      if (kind !== undefined) return { kind, window };
    }
    return undefined;
  }
}
