import { describe, expect, it } from 'vitest';
import { SerialRunner } from '../../proxy/server/serial-runner.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('SerialRunner', () => {
  it('never overlaps runs and serves calls during a run with exactly one more run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const gates: Array<ReturnType<typeof deferred>> = [];
    const runner = new SerialRunner(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      active--;
      return runs;
    });
    const first = runner.run();
    const second = runner.run();
    const third = runner.run();
    expect(second).toBe(third);
    gates[0]?.resolve();
    expect(await first).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    gates[1]?.resolve();
    expect(await second).toBe(2);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
  });

  it('starts afresh after a failed run', async () => {
    let calls = 0;
    const runner = new SerialRunner(async () => {
      calls++;
      if (calls === 1) throw new Error('first fails');
      return calls;
    });
    await expect(runner.run()).rejects.toThrow('first fails');
    expect(await runner.run()).toBe(2);
  });
});
