/**
 * The log destination: lines of one event-loop turn leave together, in order, none lost; a busy
 * stream writes at most once per interval; flush waits for them; a reader that falls too far behind costs dropped (and counted) lines, never
 * memory without bound.
 */
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_INTERVAL_MS, LogDestination } from '../../proxy/observability/log-destination.js';

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

function fileDestination(maxPendingBytes?: number) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'log-destination-')), 'out.log');
  const fd = openSync(file, 'w');
  opened.push(fd);
  const destination = new LogDestination({
    fd,
    ...(maxPendingBytes === undefined ? {} : { maxPendingBytes }),
  });
  const flushed = () => new Promise<void>((resolve) => destination.flush(() => resolve()));
  return { destination, flushed, text: () => readFileSync(file, 'utf8') };
}

describe('LogDestination', () => {
  it('writes every line of a turn, in order, once flushed', async () => {
    const { destination, flushed, text } = fileDestination();
    const lines = Array.from({ length: 2000 }, (_, index) => `{"line":${index}}\n`);
    for (const line of lines) destination.write(line);
    // Nothing leaves during the turn that logged: the batch is written after it.
    expect(text()).toBe('');
    await flushed();
    expect(text()).toBe(lines.join(''));
    destination.write('{"line":"next turn"}\n');
    await flushed();
    expect(text().endsWith('{"line":"next turn"}\n')).toBe(true);
    expect(destination.dropped).toBe(0);
  });

  it('writes a busy stream at most once per interval, an idle one at once, and a full batch early', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'log-destination-')), 'out.log');
    const fd = openSync(file, 'w');
    opened.push(fd);
    // The clock stands still: after the first write, every batch is within the interval.
    const destination = new LogDestination({ fd, batchIntervalMs: 300, now: () => 0 });
    const writes: string[] = [];
    const sink = (destination as unknown as { sink: { write(...args: unknown[]): boolean } }).sink;
    const write = sink.write.bind(sink);
    sink.write = (...args: unknown[]) => {
      if (args[0] !== '') writes.push(args[0] as string);
      return write(...args);
    };
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    // Idle: the first line leaves right after its turn.
    destination.write('a\n');
    await nextTurn();
    expect(writes).toEqual(['a\n']);
    // Busy: the next lines wait for the interval...
    destination.write('b\n');
    await nextTurn();
    destination.write('c\n');
    await nextTurn();
    expect(writes).toEqual(['a\n']);
    // ...unless they reach 64 KiB: then they leave after the turn.
    const big = `${'x'.repeat(1023)}\n`;
    for (let index = 0; index < 64; index++) destination.write(big);
    await nextTurn();
    expect(writes).toEqual(['a\n', `b\nc\n${big.repeat(64)}`]);
    // The interval's own timer writes what waits.
    destination.write('d\n');
    destination.write('e\n');
    await nextTurn();
    expect(writes).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(writes).toEqual(['a\n', `b\nc\n${big.repeat(64)}`, 'd\ne\n']);
    await new Promise<void>((resolve) => destination.flush(() => resolve()));
    expect(readFileSync(file, 'utf8')).toBe(writes.join(''));
    expect(BATCH_INTERVAL_MS).toBeLessThanOrEqual(50);
  });

  it('drops and counts lines beyond what may wait for the reader', async () => {
    const { destination, flushed, text } = fileDestination(100);
    const dropped: number[] = [];
    destination.onDrop((lines) => dropped.push(lines));
    const line = `${'x'.repeat(39)}\n`;
    for (let index = 0; index < 5; index++) destination.write(line);
    // 100 bytes may wait: three lines of 40 fit under the bound, the rest are dropped.
    expect(destination.dropped).toBe(2);
    expect(dropped).toEqual([1, 1]);
    await flushed();
    expect(text()).toBe(line.repeat(3));
  });
});
