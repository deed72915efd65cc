import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  availableCpus,
  parseCfsQuota,
  parseCpuMax,
  workerCount,
} from '../../proxy/server/cgroup-cpus.js';

let roots: string[] = [];

afterEach(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  roots = [];
});

/** A cgroup root in a temporary directory holding `files` (relative path → content). */
async function cgroupRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'scopegate-cgroup-'));
  roots.push(root);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  return root;
}

describe('cgroup v2 cpu.max', () => {
  it.each([
    ['max 100000\n', undefined],
    ['200000 100000\n', 2],
    ['150000 100000', 2],
    ['50000 100000', 1],
    ['400000 200000', 2],
    ['100000', 1],
    ['', undefined],
    ['garbage 100000', undefined],
    ['0 100000', undefined],
    ['-1 100000', undefined],
  ])('%j → %s', (text, cpus) => {
    expect(parseCpuMax(text)).toBe(cpus);
  });
});

describe('cgroup v1 cfs quota', () => {
  it.each([
    ['-1', '100000', undefined],
    ['200000', '100000', 2],
    ['250000', '100000', 3],
    ['10000', '100000', 1],
    ['x', '100000', undefined],
    ['200000', '0', undefined],
  ])('%s / %s → %s', (quota, period, cpus) => {
    expect(parseCfsQuota(quota, period)).toBe(cpus);
  });
});

describe('the CPUs `auto` stands for', () => {
  it.each([
    ['v2 quota of 2 on 8 CPUs', { 'cpu.max': '200000 100000\n' }, 8, 2],
    ['v2 quota of 1.5 rounds up', { 'cpu.max': '150000 100000\n' }, 8, 2],
    ['v2 unlimited: every CPU', { 'cpu.max': 'max 100000\n' }, 8, 8],
    ['v2 quota above the CPUs: the CPUs', { 'cpu.max': '1600000 100000\n' }, 4, 4],
    [
      'v1 quota of 3',
      { 'cpu/cpu.cfs_quota_us': '300000\n', 'cpu/cpu.cfs_period_us': '100000\n' },
      8,
      3,
    ],
    [
      'v1 under cpu,cpuacct',
      { 'cpu,cpuacct/cpu.cfs_quota_us': '100000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' },
      8,
      1,
    ],
    ['v1 unlimited', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' }, 6, 6],
    ['no cgroup files at all', {}, 3, 3],
  ])('%s', async (_name, files, parallelism, expected) => {
    const root = await cgroupRoot(files);
    expect(await availableCpus(root, parallelism)).toBe(expected);
    expect(await workerCount('auto', root, parallelism)).toBe(expected);
  });

  it('a number is taken as it is, whatever the quota', async () => {
    const root = await cgroupRoot({ 'cpu.max': '100000 100000' });
    expect(await workerCount(3, root, 8)).toBe(3);
  });
});
