/**
 * What tracing costs the token path: `npm run build && node dist/test/bench/tracing-cost.js
 * [requests]` runs the real `scopegate serve` (pinned like the main bench) in front of the fast
 * upstream, uncached token requests, with tracing off, on at sample ratio 1 and on at ratio 0
 * (spans exported to an OTLP/HTTP sink in this process), and prints the gateway's CPU time per
 * request. It asserts nothing: the figures depend on the machine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prepareBenchConfig } from './bench-config.js';
import { BENCH_AUDIENCE, BENCH_CLIENT_SECRET } from './fast-upstream.js';
import { fixedCount, type HttpCall } from './load.js';
import { cpuSeconds, pinningNote, pinSelf, startGateway, startUpstream } from './processes.js';

const REQUESTS = Number(process.argv[2] ?? 2000);
const WARMUP = 300;
const CONNECTIONS = 8;

const tokenCall: HttpCall = {
  method: 'POST',
  path: '/oauth/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'bench-uncached',
    client_secret: BENCH_CLIENT_SECRET,
    audience: BENCH_AUDIENCE,
    scope: 'read:claims accounts.read.1234',
  }).toString(),
};

/** An OTLP/HTTP sink: reads and counts what is exported, answers 200. */
async function startSink() {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bytes: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  pinSelf();
  const upstream = await startUpstream();
  const sink = await startSink();
  const modes: Array<[string, Record<string, unknown>]> = [
    ['off', { enabled: false }],
    ['on, sample_ratio 1', { enabled: true, sample_ratio: 1, exporter: { endpoint: sink.url } }],
    ['on, sample_ratio 0', { enabled: true, sample_ratio: 0, exporter: { endpoint: sink.url } }],
  ];
  console.log(`${REQUESTS} uncached token requests, ${CONNECTIONS} connections; ${pinningNote()}`);
  console.log(`node ${process.version}`);
  try {
    for (const [name, tracing] of modes) {
      const prepared = await prepareBenchConfig(upstream.url);
      await prepared.writeConfig({ ...prepared.config, tracing });
      const gateway = await startGateway(prepared.configFile, prepared.dir);
      try {
        await fixedCount(gateway.url, tokenCall, WARMUP, CONNECTIONS);
        const exportedBefore = sink.bytes();
        const before = cpuSeconds(gateway.pid);
        const result = await fixedCount(gateway.url, tokenCall, REQUESTS, CONNECTIONS);
        const cpu = cpuSeconds(gateway.pid) - before;
        const perRequest = (cpu * 1e6) / result.requests;
        console.log(
          `${name.padEnd(20)} ${perRequest.toFixed(0).padStart(5)} µs CPU/request, ` +
            `${result.requestsPerSec.toFixed(0)} req/s, non-2xx ${result.non2xx}, ` +
            `exported during the run ${((sink.bytes() - exportedBefore) / 1024).toFixed(0)} KiB`,
        );
      } finally {
        await gateway.stop();
        await prepared.remove();
      }
    }
  } finally {
    await upstream.stop();
    await sink.close();
  }
}

await main();
