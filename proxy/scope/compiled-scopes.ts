/**
 * Compiled forms of the scope values tokens grant (and clients request as templates). The same
 * values repeat from token to token, so each is compiled once and kept; the values come from
 * outside, so the memo is an LRU bounded in bytes as well as entries, and an oversized value is
 * compiled but never kept. Each ScopePolicies (one per configuration generation) owns its own:
 * a reload starts afresh and the old generation's memo goes with it.
 */
import { LRUCache } from 'lru-cache';
import { type CompiledTemplate, compileGrant } from './template.js';

export interface CompiledScopesLimits {
  /**
   * Optional: the byte budget already bounds entries (every entry costs at least 200 bytes).
   * lru-cache preallocates storage for `max` entries, so the default sets none.
   */
  maxEntries?: number;
  /** Estimated bytes of every kept value and its compiled form together. */
  maxBytes: number;
}

export const COMPILED_SCOPES_LIMITS: CompiledScopesLimits = { maxBytes: 4 * 1024 * 1024 };

/** The largest single value kept: one scope token of a few KiB is already unusual. */
const MAX_ENTRY_BYTES = 16 * 1024;

/**
 * Estimated bytes held for a value: the source and its segments (UTF-16, so two bytes a
 * character, held about twice), plus a fixed cost per segment and per entry.
 */
export function compiledScopeBytes(scope: string): number {
  let segments = 1;
  for (let at = scope.indexOf('.'); at >= 0; at = scope.indexOf('.', at + 1)) segments += 1;
  return 4 * scope.length + 48 * segments + 160;
}

export class CompiledScopes {
  /** Created on first use: a configuration (or a test) that never decides pays nothing. */
  private cache: LRUCache<string, CompiledTemplate> | undefined;

  constructor(private readonly limits: CompiledScopesLimits = COMPILED_SCOPES_LIMITS) {}

  private memo(): LRUCache<string, CompiledTemplate> {
    this.cache ??= new LRUCache<string, CompiledTemplate>({
      ...(this.limits.maxEntries !== undefined ? { max: this.limits.maxEntries } : {}),
      maxSize: this.limits.maxBytes,
      maxEntrySize: Math.min(MAX_ENTRY_BYTES, this.limits.maxBytes),
      sizeCalculation: (_template, scope) => compiledScopeBytes(scope),
    });
    return this.cache;
  }

  /** The compiled form of `scope`, from the memo or compiled now. */
  get(scope: string): CompiledTemplate {
    const memo = this.memo();
    let template = memo.get(scope);
    if (!template) {
      template = compileGrant(scope);
      if (compiledScopeBytes(scope) <= MAX_ENTRY_BYTES) memo.set(scope, template);
    }
    return template;
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** Estimated bytes held now. */
  get bytes(): number {
    return this.cache?.calculatedSize ?? 0;
  }
}
