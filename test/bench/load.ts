/**
 * Load generators. Closed loop (autocannon, N connections each with one request in flight) for
 * throughput; open loop (our own, below) for latency at a fixed rate: requests leave on a fixed
 * schedule whether or not earlier ones have answered, and each latency is measured from the
 * instant the request was due, so a stall shows in the tail instead of slowing the generator
 * down (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ClosedLoopResult {
  requests: number;
  seconds: number;
  requestsPerSec: number;
  bytesPerSec: number;
  non2xx: number;
  errors: number;
}

/** autocannon for `seconds` or for `amount` requests, whichever is given. */
async function cannon(
  baseUrl: string,
  call: HttpCall,
  connections: number,
  bound: { duration: number } | { amount: number },
): Promise<ClosedLoopResult> {
  const result = await autocannon({
    url: baseUrl,
    method: call.method,
    requests: [
      {
        method: call.method,
        path: call.path,
        ...(call.headers ? { headers: call.headers } : {}),
        ...(call.body !== undefined ? { body: call.body } : {}),
      },
    ],
    connections,
    pipelining: 1,
    ...bound,
  });
  const completed = result.requests.total;
  return {
    requests: completed,
    seconds: result.duration,
    requestsPerSec: completed / result.duration,
    bytesPerSec: result.throughput.total / result.duration,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function closedLoop(
  baseUrl: string,
  call: HttpCall,
  seconds: number,
  connections: number,
): Promise<ClosedLoopResult> {
  return cannon(baseUrl, call, connections, { duration: seconds });
}

/** Closed loop for a fixed number of requests (memory growth runs), as fast as it goes. */
export function fixedCount(
  baseUrl: string,
  call: HttpCall,
  amount: number,
  connections: number,
): Promise<ClosedLoopResult> {
  return cannon(baseUrl, call, connections, { amount });
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  p999: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * fraction) - 1)] as number;
}

/** `rate` requests per second for `seconds`, latencies in ms from each request's due time. */
export async function openLoop(
  baseUrl: string,
  call: HttpCall,
  rate: number,
  seconds: number,
): Promise<OpenLoopResult> {
  const target = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const intervalNs = 1e9 / rate;
  const latencies: number[] = [];
  let failed = 0;
  const body = call.body === undefined ? undefined : Buffer.from(call.body);
  const headers = {
    ...call.headers,
    ...(body ? { 'content-length': String(body.length) } : {}),
  };
  const started = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];
  const one = (due: bigint) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method: call.method,
          path: call.path,
          headers,
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) {
              latencies.push(Number(process.hrtime.bigint() - due) / 1e6);
            } else failed += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed += 1;
        resolve();
      });
      req.end(body);
    });
  for (let index = 0; index < total; index++) {
    const due = started + BigInt(Math.round(index * intervalNs));
    // Sleep until roughly due, then spin the last stretch: timers alone are too coarse at 1 ms.
    for (;;) {
      const ahead = Number(due - process.hrtime.bigint()) / 1e6;
      if (ahead <= 0) break;
      if (ahead > 2) await new Promise((resolve) => setTimeout(resolve, ahead - 1.5));
      else await new Promise((resolve) => setImmediate(resolve));
    }
    inFlight.push(one(due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate,
    sent: total,
    failed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
  };
}
