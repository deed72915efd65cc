/**
 * How many CPUs this container may use, for `server.workers: auto`: its cgroup CPU quota, not the
 * host's core count. A pod granted 2 CPUs on a 64-core node sees 64 cores in os.cpus(); 64 workers
 * there would share 2 CPUs of time and spend it on context switches and 64 heaps.
 *
 * cgroup v2: `cpu.max` holds "QUOTA PERIOD" (µs) or "max PERIOD" (no limit). cgroup v1:
 * `cpu/cpu.cfs_quota_us` (-1: no limit) and `cpu/cpu.cfs_period_us`. A fraction rounds up (1.5
 * CPUs: 2 workers, the second uses the half). The answer is never more than
 * os.availableParallelism(), which already follows the CPU affinity mask (taskset, cpusets).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** CPUs a quota of `quota` µs per `period` µs allows; undefined: no limit (or unreadable). */
export function cpusOfQuota(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) {
    return undefined;
  }
  return Math.max(1, Math.ceil(quota / period));
}

/** cgroup v2 `cpu.max`: "max 100000" or "200000 100000". */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  if (!/^[0-9]+$/.test(quota) || !/^[0-9]+$/.test(period)) return undefined;
  return cpusOfQuota(Number(quota), Number(period));
}

/** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`: "-1" is no limit. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  const quota = quotaText.trim();
  const period = periodText.trim();
  if (!/^-?[0-9]+$/.test(quota) || !/^[0-9]+$/.test(period)) return undefined;
  return cpusOfQuota(Number(quota), Number(period));
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** The cgroup's CPU limit, v2 first then v1; undefined when none is set or none is readable. */
export async function cgroupCpuLimit(root = CGROUP_ROOT): Promise<number | undefined> {
  const v2 = await readOrUndefined(path.join(root, 'cpu.max'));
  if (v2 !== undefined) return parseCpuMax(v2);
  for (const controller of ['cpu', 'cpu,cpuacct']) {
    const quota = await readOrUndefined(path.join(root, controller, 'cpu.cfs_quota_us'));
    const period = await readOrUndefined(path.join(root, controller, 'cpu.cfs_period_us'));
    if (quota !== undefined && period !== undefined) return parseCfsQuota(quota, period);
  }
  return undefined;
}

/** The CPUs this process may use: the cgroup limit, at most what Node.js sees. */
export async function availableCpus(
  root = CGROUP_ROOT,
  parallelism = os.availableParallelism(),
): Promise<number> {
  const limit = await cgroupCpuLimit(root);
  return Math.max(1, Math.min(parallelism, limit ?? parallelism));
}

/** `server.workers` as a count: `auto` is availableCpus(). */
export async function workerCount(
  setting: number | 'auto',
  root = CGROUP_ROOT,
  parallelism = os.availableParallelism(),
): Promise<number> {
  return setting === 'auto' ? availableCpus(root, parallelism) : setting;
}
