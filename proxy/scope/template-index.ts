/**
 * An index of templates for one question asked per request and scope: which templates could
 * match this concrete scope? A template can only match a scope that has its first literal
 * segment, at the same position (`*.r3.audit` needs `r3` second), so templates are filed under
 * (position, literal); templates of wildcards only (`*`, `*.*`) could match anything. Candidates
 * come back in the order the templates were given, which for policies is config order.
 */
import { type CompiledTemplate, WILDCARD } from './template.js';

interface Entry<T> {
  order: number;
  item: T;
}

export class TemplateIndex<T> {
  /** position -> literal -> entries */
  private readonly byLiteral = new Map<number, Map<string, Entry<T>[]>>();
  private readonly onlyWildcards: Entry<T>[] = [];
  private readonly maxPosition: number;
  readonly items: readonly T[];

  constructor(items: readonly T[], templateOf: (item: T) => CompiledTemplate) {
    this.items = items;
    let maxPosition = -1;
    items.forEach((item, order) => {
      const segments = templateOf(item).segments;
      const position = segments.findIndex((segment) => segment !== WILDCARD);
      if (position === -1) {
        this.onlyWildcards.push({ order, item });
        return;
      }
      maxPosition = Math.max(maxPosition, position);
      let literals = this.byLiteral.get(position);
      if (!literals) {
        literals = new Map();
        this.byLiteral.set(position, literals);
      }
      const literal = segments[position] as string;
      const bucket = literals.get(literal);
      if (bucket) bucket.push({ order, item });
      else literals.set(literal, [{ order, item }]);
    });
    this.maxPosition = maxPosition;
  }

  get size(): number {
    return this.items.length;
  }

  /** The items whose template could match the concrete scope split into `parts`. */
  candidates(parts: readonly string[]): readonly T[] {
    let found: Entry<T>[] | undefined;
    let sources = 0;
    const add = (entries: Entry<T>[]) => {
      found = found ? found.concat(entries) : entries;
      sources += 1;
    };
    if (this.onlyWildcards.length > 0) add(this.onlyWildcards);
    const last = Math.min(this.maxPosition, parts.length - 1);
    for (let position = 0; position <= last; position++) {
      const entries = this.byLiteral.get(position)?.get(parts[position] as string);
      if (entries) add(entries);
    }
    if (!found) return [];
    if (sources > 1) found = [...found].sort((a, b) => a.order - b.order);
    return found.map((entry) => entry.item);
  }
}
