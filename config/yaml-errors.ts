/**
 * YAML syntax errors with the line a person should look at. The parser reports an unclosed quote
 * or bracket where the file ends (past the last line); the line that opened it is the one to fix.
 */
import {
  type Document,
  isCollection,
  isScalar,
  type LineCounter,
  type Node,
  visit,
  type YAMLError,
} from 'yaml';

/** The innermost quoted scalar or flow collection that runs to the end of the file, if any. */
function unclosedAtEnd(doc: Document, end: number): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Node(_key, node) {
      const range = node.range;
      if (!range || range[1] < end) return;
      const opens =
        (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) ||
        (isCollection(node) && node.flow === true);
      if (opens && range[0] > (found?.range?.[0] ?? -1)) found = node;
    },
  });
  return found;
}

/** One line per error: `label:line: message`, the line being where the problem starts. */
export function describeYamlError(
  error: YAMLError,
  doc: Document,
  lines: LineCounter,
  text: string,
  label: string,
): string {
  // The parser's own "at line N, column M:" suffix would repeat, or contradict, our line.
  const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const offset = error.pos[0];
  const contentEnd = text.trimEnd().length;
  if (offset >= contentEnd) {
    const opened = unclosedAtEnd(doc, offset);
    const start = opened?.range?.[0];
    if (start !== undefined) {
      const line = lines.linePos(start).line;
      return `${label}:${line}: ${message} (opened on this line, still open at the end of the file)`;
    }
    // Nothing opened it: name the last line that has content rather than one past the end.
    const last = lines.linePos(Math.max(0, contentEnd - 1)).line;
    return `${label}:${last}: ${message}`;
  }
  return `${label}:${lines.linePos(offset).line}: ${message}`;
}
