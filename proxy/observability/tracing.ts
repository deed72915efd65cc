/**
 * OpenTelemetry tracing, off unless `tracing.enabled`: a server span per request (its parent the
 * client's W3C `traceparent`), child spans for the token endpoint's steps and for calls to the
 * upstream, the current context injected into every upstream request, OTLP/HTTP export.
 *
 * Instrumented by hand, not by auto-instrumentation: a handful of spans whose cost can be measured,
 * and nothing patched into node:http. While tracing is off every helper here is one `undefined`
 * check, and no context manager is installed, so the request path does no context work at all.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { Config } from '../../config/schema.js';
import { type TracingSettings, tracingSettings } from './tracing-settings.js';

/** The W3C trace context headers: never relayed as the client sent them while tracing is on. */
const TRACE_CONTEXT_HEADERS = ['traceparent', 'tracestate'] as const;

/** Set while tracing runs; `undefined` is the whole of the "off" path. */
let tracer: Tracer | undefined;

export interface Tracing {
  settings: TracingSettings;
  /** Exports what is buffered and stops; resolves within `timeoutMs` whatever the collector does. */
  shutdown(timeoutMs: number): Promise<void>;
}

export function tracingActive(): boolean {
  return tracer !== undefined;
}

/**
 * Starts tracing when the configuration asks for it. One per process (context is global). The SDK
 * is loaded here, not imported with this module: with tracing off it is never loaded.
 */
export async function startTracing(
  config: Config['tracing'],
  env: Readonly<Record<string, string | undefined>>,
  version: string,
): Promise<Tracing | undefined> {
  if (!config.enabled) return undefined;
  const settings = tracingSettings(config, env);
  const { createTracingSdk } = await import('./tracing-provider.js');
  const { provider, contextManager, propagator } = createTracingSdk(settings, version);
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(propagator);
  tracer = provider.getTracer('scopegate', version);
  return {
    settings,
    async shutdown(timeoutMs) {
      tracer = undefined;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([provider.shutdown().catch(() => undefined), late]);
      } finally {
        clearTimeout(timer);
        context.disable();
        propagation.disable();
      }
    },
  };
}

/**
 * The server span of one request, its parent the client's `traceparent` when it sent a valid one.
 * The caller names it by route once the router has classified the request, and ends it.
 */
export type RequestSpan = Span;

export function startRequestSpan(req: IncomingMessage): RequestSpan | undefined {
  if (tracer === undefined) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  return tracer.startSpan(
    req.method ?? 'GET',
    { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method ?? 'GET' } },
    parent,
  );
}

/** Names the server span `{method} {route class}` and ends it with the response's status. */
export function endRequestSpan(
  span: RequestSpan,
  method: string,
  route: string,
  res: ServerResponse,
): void {
  span.updateName(`${method} ${route}`);
  if (!res.headersSent) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'closed before an answer' });
    span.end();
    return;
  }
  const status = res.statusCode;
  span.setAttribute(ATTR_HTTP_ROUTE, route);
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Runs `handle` with `span` as the current span (everything it starts, it starts under it). */
export function withinSpan<T>(span: Span | undefined, handle: () => T): T {
  if (span === undefined) return handle();
  return context.with(trace.setSpan(context.active(), span), handle);
}

function failed(span: Span, error: unknown): void {
  // The error's class only: messages may quote what a client or the upstream sent.
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name ?? 'error' });
}

/** A child span around one asynchronous step (the token endpoint's read, forward, verify...). */
export function inSpan<T>(name: string, step: () => Promise<T>): Promise<T> {
  if (tracer === undefined) return step();
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await step();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The same around a synchronous step (decide). */
export function inSpanSync<T>(name: string, step: () => T): T {
  if (tracer === undefined) return step();
  return tracer.startActiveSpan(name, (span) => {
    try {
      return step();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * `headers` carrying the current trace context instead of whatever trace context they held. While
 * tracing is off they are returned as they are: scopegate then relays a client's trace context
 * like any other end-to-end header and adds none.
 */
export function withTraceContext(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  if (tracer === undefined) return headers;
  const carried: OutgoingHttpHeaders = { ...headers };
  replaceTraceContext(carried);
  return carried;
}

/** In place: the client's trace context headers removed, the current context injected. */
export function replaceTraceContext(headers: Record<string, unknown>): void {
  if (tracer === undefined) return;
  for (const name of TRACE_CONTEXT_HEADERS) delete headers[name];
  propagation.inject(context.active(), headers);
}

/** A client span around one request scopegate makes to the upstream; ended with its status. */
export interface UpstreamCallSpan {
  /** The request's headers with this span's context in place of any other. */
  headers(headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders;
  end(status: number | undefined): void;
}

export function startUpstreamCallSpan(
  route: string,
  method: string,
  url: URL,
): UpstreamCallSpan | undefined {
  if (tracer === undefined) return undefined;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    // Origin and path only: a query may carry a token.
    [ATTR_URL_FULL]: `${url.origin}${url.pathname}`,
  };
  const span = tracer.startSpan(`upstream ${route}`, { kind: SpanKind.CLIENT, attributes });
  const spanContext = trace.setSpan(context.active(), span);
  return {
    headers(headers) {
      const carried: OutgoingHttpHeaders = { ...headers };
      for (const name of TRACE_CONTEXT_HEADERS) delete carried[name];
      propagation.inject(spanContext, carried);
      return carried;
    },
    end(status) {
      if (status === undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'no answer' });
      } else {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

const NO_TRACE_FIELDS = Object.freeze({});

/**
 * pino's mixin: `trace_id` and `span_id` of the current span on every log line written while a
 * request is traced (sampled or not, so a log line can be found from a trace id either way).
 */
export function traceLogFields(): object {
  if (tracer === undefined) return NO_TRACE_FIELDS;
  const span = trace.getSpan(context.active());
  if (span === undefined) return NO_TRACE_FIELDS;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** pino's mixin merge: the log call's own fields win; untraced lines allocate nothing. */
export function mergeTraceLogFields(fields: object, traceFields: object): object {
  return traceFields === NO_TRACE_FIELDS ? fields : Object.assign(traceFields, fields);
}
