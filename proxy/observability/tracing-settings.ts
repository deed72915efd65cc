/**
 * What tracing runs with: the `tracing` section first, the standard OTEL_* variables where the
 * section says nothing, then scopegate's defaults. Resolved once, at start.
 */
import { DEFAULTS } from '../../config/defaults.js';
import { parseOtlpHeaders } from '../../config/otlp-headers.js';
import type { Config } from '../../config/schema.js';

export interface TracingSettings {
  serviceName: string;
  sampleRatio: number;
  endpoint: string;
  headers: Record<string, string>;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the traces path is added (OTLP exporter spec). */
function endpointFromEnv(env: Env): string | undefined {
  const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (traces !== undefined) return traces;
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * OTEL_TRACES_SAMPLER_ARG is a ratio only for the ratio samplers (or when no sampler is named);
 * an argument out of [0, 1] or not a number is ignored.
 */
function ratioFromEnv(env: Env): number | undefined {
  const sampler = nonEmpty(env.OTEL_TRACES_SAMPLER);
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler !== undefined && !sampler.endsWith('traceidratio')) return undefined;
  const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
  if (arg === undefined) return undefined;
  const ratio = Number(arg);
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : undefined;
}

export function tracingSettings(tracing: Config['tracing'], env: Env): TracingSettings {
  return {
    serviceName:
      tracing.service_name ?? nonEmpty(env.OTEL_SERVICE_NAME) ?? DEFAULTS.tracing.service_name,
    sampleRatio: tracing.sample_ratio ?? ratioFromEnv(env) ?? DEFAULTS.tracing.sample_ratio,
    endpoint: tracing.exporter.endpoint ?? endpointFromEnv(env) ?? DEFAULTS.tracing.endpoint,
    headers:
      tracing.exporter.headers ??
      parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) ??
      parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) ??
      {},
  };
}
