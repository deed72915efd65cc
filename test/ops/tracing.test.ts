/**
 * OpenTelemetry tracing end to end, with real parts: an OTLP/HTTP receiver started here (JSON
 * protocol, parsed as a collector would), a programmable upstream over real HTTP, and scopegate
 * with tracing on, then off. One token request carrying a client's `traceparent` yields the span
 * tree below the client's span; the upstream receives scopegate's context in the same trace; the
 * log lines carry the trace id. With tracing off nothing is exported or added, and a client's
 * trace context passes through untouched like any other end-to-end header.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

interface Receiver {
  url: string;
  spans: ExportedSpan[];
  serviceNames: Set<string>;
  posts: number;
  close(): Promise<void>;
}

/** An OTLP/HTTP traces receiver: POST /v1/traces, JSON (ExportTraceServiceRequest). */
async function startReceiver(): Promise<Receiver> {
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    spans: [],
    serviceNames: new Set(),
    posts: 0,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      receiver.posts += 1;
      expect(req.headers['content-type']).toMatch(/application\/json/);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: ExportedSpan[] }>;
        }>;
      };
      for (const resourceSpan of body.resourceSpans) {
        const service = resourceSpan.resource.attributes.find((a) => a.key === 'service.name');
        if (service?.value.stringValue) receiver.serviceNames.add(service.value.stringValue);
        for (const scope of resourceSpan.scopeSpans) receiver.spans.push(...scope.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...receiver,
    get spans() {
      return receiver.spans;
    },
    get posts() {
      return receiver.posts;
    },
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const CLIENT = `Basic ${Buffer.from('client:secret').toString('base64')}`;

function traceparentOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.traceparent;
  return Array.isArray(value) ? value[0] : value;
}

function attribute(span: ExportedSpan, key: string): unknown {
  const found = span.attributes?.find((a) => a.key === key)?.value;
  return found === undefined ? undefined : Object.values(found)[0];
}

describe('tracing on', () => {
  let receiver: Receiver;
  let upstream: CustomUpstream;
  let gateway: TestGateway;
  const clientTraceId = hex(16);
  const clientSpanId = hex(8);
  const proxiedHeaders: IncomingHttpHeaders[] = [];
  let tokenStatus = 0;
  let logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    upstream = await startCustomUpstream({
      routes: {
        '/account': (request) => {
          proxiedHeaders.push(request.headers);
          return { body: { ok: true } };
        },
      },
    });
    gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      config: {
        tracing: {
          enabled: true,
          service_name: 'scopegate-under-test',
          sample_ratio: 1,
          exporter: { endpoint: receiver.url },
        },
      },
    });
    const response = await postForm(
      `${gateway.url}/oauth/token`,
      { grant_type: 'client_credentials', scope: 'a b' },
      {
        authorization: CLIENT,
        traceparent: `00-${clientTraceId}-${clientSpanId}-01`,
        tracestate: 'client=raw',
      },
    );
    tokenStatus = response.status;
    await response.text();
    // A proxied request carrying the client's trace context, and one carrying none.
    await (
      await fetch(`${gateway.url}/account`, {
        headers: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` },
      })
    ).text();
    await (await fetch(`${gateway.url}/account`)).text();
    // Shutdown exports what is buffered.
    await gateway.close();
    logLines = gateway.logs.records();
  });

  afterAll(async () => {
    await upstream?.close();
    await receiver?.close();
  });

  it('exports the token request as a span tree below the client span', () => {
    expect(tokenStatus).toBe(200);
    expect(receiver.serviceNames).toContain('scopegate-under-test');
    const trace = receiver.spans.filter((span) => span.traceId === clientTraceId);
    const server = trace.find((span) => span.name === 'POST token');
    expect(server).toBeDefined();
    expect(server?.parentSpanId).toBe(clientSpanId);
    expect(server?.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attribute(server as ExportedSpan, 'http.response.status_code')).toBe(200);
    const children = trace.filter((span) => span.parentSpanId === server?.spanId);
    expect(children.map((span) => span.name)).toEqual(
      expect.arrayContaining([
        'token.read',
        'token.forward',
        'token.verify',
        'token.decide',
        'token.issue',
      ]),
    );
    const forward = children.find((span) => span.name === 'token.forward');
    const upstreamCall = trace.find((span) => span.parentSpanId === forward?.spanId);
    expect(upstreamCall?.name).toBe('upstream token');
    expect(upstreamCall?.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(attribute(upstreamCall as ExportedSpan, 'http.response.status_code')).toBe(200);
    // The query never reaches a span; the URL is origin and path.
    expect(attribute(upstreamCall as ExportedSpan, 'url.full')).toBe(`${upstream.url}/oauth/token`);
    // Report (visible with --reporter verbose): the tree with durations.
    const ms = (span: ExportedSpan) =>
      (Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6).toFixed(2);
    for (const span of trace.filter((s) => s.name !== 'GET proxy')) {
      console.info(`${span.name} ${ms(span)} ms parent=${span.parentSpanId ?? '-'}`);
    }
  });

  it("sends the upstream scopegate's span context in the client's trace, not the client's", () => {
    const sent = upstream.requests.at(-1);
    const traceparent = traceparentOf(sent?.headers ?? {});
    const [, traceId, parentId] = traceparent?.split('-') ?? [];
    expect(traceId).toBe(clientTraceId);
    const upstreamCall = receiver.spans.find((span) => span.name === 'upstream token');
    expect(parentId).toBe(upstreamCall?.spanId);
    expect(parentId).not.toBe(clientSpanId);
    // The client's tracestate rides with its trace (W3C: a vendor's entries are carried on).
    expect(sent?.headers.tracestate).toBe('client=raw');
  });

  it('replaces the trace context of a proxied request with the server span', () => {
    const [withClient, withoutClient] = proxiedHeaders;
    const [, traceId, parentId] = traceparentOf(withClient ?? {})?.split('-') ?? [];
    expect(traceId).toBe(clientTraceId);
    const server = receiver.spans.find(
      (span) => span.name === 'GET proxy' && span.traceId === clientTraceId,
    );
    expect(server?.parentSpanId).toBe(clientSpanId);
    expect(parentId).toBe(server?.spanId);
    // A request without trace context starts a trace of its own, and the upstream joins it.
    const fresh = traceparentOf(withoutClient ?? {});
    expect(fresh).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(fresh?.split('-')[1]).not.toBe(clientTraceId);
  });

  it('puts trace_id and span_id on the log lines of the traced request', () => {
    const tokenLine = logLines.find((line) => line.msg === 'token request');
    expect(tokenLine?.trace_id).toBe(clientTraceId);
    expect(tokenLine?.span_id).toMatch(/^[0-9a-f]{16}$/);
    // Lines outside any request carry none.
    const listening = logLines.find((line) => String(line.msg).startsWith('scopegate listening'));
    expect(listening).toBeDefined();
    expect(listening?.trace_id).toBeUndefined();
  });
});

describe('tracing off (the default)', () => {
  let receiver: Receiver;
  let upstream: CustomUpstream;
  let gateway: TestGateway;
  const proxiedHeaders: IncomingHttpHeaders[] = [];
  const clientTraceparent = `00-${hex(16)}-${hex(8)}-01`;

  beforeAll(async () => {
    receiver = await startReceiver();
    upstream = await startCustomUpstream({
      routes: {
        '/account': (request) => {
          proxiedHeaders.push(request.headers);
          return { body: { ok: true } };
        },
      },
    });
    // Even with an OTLP endpoint named, nothing is exported unless tracing.enabled.
    gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      config: { tracing: { exporter: { endpoint: receiver.url } } },
    });
    await (
      await postForm(
        `${gateway.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: CLIENT, traceparent: clientTraceparent },
      )
    ).text();
    await (await postForm(`${gateway.url}/oauth/token`, {}, { authorization: CLIENT })).text();
    await (
      await fetch(`${gateway.url}/account`, { headers: { traceparent: clientTraceparent } })
    ).text();
    await (await fetch(`${gateway.url}/account`)).text();
    await gateway.close();
  });

  afterAll(async () => {
    await upstream?.close();
    await receiver?.close();
  });

  it('exports nothing and writes no trace ids', () => {
    expect(receiver.posts).toBe(0);
    const records = gateway.logs.records();
    expect(records.length).toBeGreaterThan(0);
    expect(records.some((line) => 'trace_id' in line || 'span_id' in line)).toBe(false);
  });

  it("relays a client's traceparent unchanged and adds none", () => {
    const [withClient, without] = upstream.requests;
    expect(traceparentOf(withClient?.headers ?? {})).toBe(clientTraceparent);
    expect(without?.headers.traceparent).toBeUndefined();
    expect(traceparentOf(proxiedHeaders[0] ?? {})).toBe(clientTraceparent);
    expect(proxiedHeaders[1]?.traceparent).toBeUndefined();
  });
});

describe('tracing with the token cache on Redis', () => {
  let receiver: Receiver;
  let upstream: CustomUpstream;
  let redis: TestRedis;
  const clientTraceId = hex(16);

  beforeAll(async () => {
    receiver = await startReceiver();
    upstream = await startCustomUpstream();
    redis = await startRedis();
    const gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      config: {
        tracing: { enabled: true, sample_ratio: 1, exporter: { endpoint: receiver.url } },
        clients: [{ client_id: 'client', cache: true }],
        cache: {
          upstream_tokens: {
            key: 'a-cache-key-of-at-least-thirty-two-characters',
            backend: 'redis',
            redis: { url: redis.url, timeout: '500ms' },
          },
        },
      },
    });
    for (const spanId of [hex(8), hex(8)]) {
      const response = await postForm(
        `${gateway.url}/oauth/token`,
        { grant_type: 'client_credentials', scope: 'a b' },
        { authorization: CLIENT, traceparent: `00-${clientTraceId}-${spanId}-01` },
      );
      expect(response.status).toBe(200);
      await response.text();
    }
    await gateway.close();
  });

  afterAll(async () => {
    await upstream?.close();
    await redis?.stop();
    await receiver?.close();
  });

  it('shows each Redis command of the cache as a span below the forward step', () => {
    const trace = receiver.spans.filter((span) => span.traceId === clientTraceId);
    const forwards = new Set(
      trace.filter((span) => span.name === 'token.forward').map((span) => span.spanId),
    );
    const redisSpans = trace.filter((span) => span.name.startsWith('redis '));
    // The first request misses in process and in Redis (GET) and keeps the answer (SET); the
    // second is answered by the in-process copy, which Redis backs: no Redis command.
    expect(redisSpans.map((span) => span.name).sort()).toEqual([
      'redis GET token_cache',
      'redis SET token_cache',
    ]);
    // Both in the client's trace (filtered above); the GET inside the forward step. The SET is
    // made once the answer was verified, after that step.
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const ancestors = (span: ExportedSpan): string[] => {
      const parent = byId.get(span.parentSpanId ?? '');
      return parent === undefined ? [] : [parent.spanId, ...ancestors(parent)];
    };
    const get = redisSpans.find((span) => span.name === 'redis GET token_cache');
    expect(ancestors(get as ExportedSpan).some((id) => forwards.has(id))).toBe(true);
    // One upstream call for the two requests: the second came from the cache.
    expect(trace.filter((span) => span.name === 'upstream token')).toHaveLength(1);
  });
});
