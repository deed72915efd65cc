/**
 * Benchmark figures: median and spread of repetitions, and the one table they print as.
 */
export interface Figure {
  section: string;
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  repetitions: number;
}

export function figure(section: string, name: string, unit: string, values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    section,
    name,
    unit,
    median: sorted[Math.floor((sorted.length - 1) / 2)] as number,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    repetitions: sorted.length,
  };
}

function number(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((entry) => [
    entry.section,
    entry.name,
    number(entry.median),
    entry.repetitions > 1 ? `${number(entry.min)} – ${number(entry.max)}` : '',
    entry.unit,
  ]);
  const header = ['section', 'figure', 'median', 'spread (min – max)', 'unit'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 2 || column === 3 ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width, column) => (column === 2 || column === 3 ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
