/**
 * Heap per request, V8's own count: what `--trace-gc-nvp` reports while a fixed number of
 * requests is served (allocated bytes, bytes promoted to the old generation, GC pauses).
 * Requests kept reachable longer than they live show up in the last two first.
 */
import { fixedCount, type HttpCall } from './load.js';

export interface HeapPerRequest {
  /** KB allocated per request. */
  allocated: number;
  /** KB promoted to the old generation per request. */
  promoted: number;
  /** Milliseconds of GC pause per 1,000 requests. */
  pauseMs: number;
}

/** `target` runs with `--trace-gc-nvp`; `output()` is what it printed so far. */
export async function heapPerRequest(
  target: { url: string; output(): string | Promise<string> },
  call: HttpCall,
  requests: number,
  connections: number,
): Promise<HeapPerRequest> {
  await fixedCount(target.url, call, 2_000, connections);
  const before = await target.output();
  const result = await fixedCount(target.url, call, requests, connections);
  // The trace of the last collection may still be on its way.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const trace = (await target.output()).slice(before.length);
  const sum = (field: string) => {
    let total = 0;
    // `name=value` up to Node.js 22; a JSON object per collection (`"name":value`) since.
    const pattern = new RegExp(`(?:\\b${field}=|"${field}":)([\\d.]+)`, 'g');
    for (const match of trace.matchAll(pattern)) {
      total += Number(match[1]);
    }
    return total / result.requests;
  };
  return {
    allocated: sum('allocated') / 1000,
    promoted: sum('promoted') / 1000,
    pauseMs: sum('pause') * 1000,
  };
}
