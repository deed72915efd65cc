/**
 * Where each tracing setting comes from: the `tracing` section, else the standard OTEL_*
 * variables, else scopegate's default. One table.
 */
import { describe, expect, it } from 'vitest';
import { parseOtlpHeaders } from '../../config/otlp-headers.js';
import type { Config } from '../../config/schema.js';
import { tracingSettings } from '../../proxy/observability/tracing-settings.js';

type Section = Config['tracing'];
const empty: Section = { enabled: true, exporter: {} };

const cases: Array<{
  name: string;
  section?: Partial<Section>;
  env?: Record<string, string>;
  expected: Partial<ReturnType<typeof tracingSettings>>;
}> = [
  {
    name: 'defaults',
    expected: {
      serviceName: 'scopegate',
      sampleRatio: 1,
      endpoint: 'http://localhost:4318/v1/traces',
      headers: {},
    },
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT is a base: the traces path is added',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' },
    expected: { endpoint: 'http://collector:4318/v1/traces' },
  },
  {
    name: 'the traces endpoint is used as given and wins over the base',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
    },
    expected: { endpoint: 'http://traces:9999/custom' },
  },
  {
    name: 'the config wins over OTEL_*',
    section: {
      service_name: 'edge',
      sample_ratio: 0.25,
      exporter: { endpoint: 'https://otlp.example/v1/traces', headers: { 'x-key': 'k' } },
    },
    env: {
      OTEL_SERVICE_NAME: 'env-name',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-env=1',
    },
    expected: {
      serviceName: 'edge',
      sampleRatio: 0.25,
      endpoint: 'https://otlp.example/v1/traces',
      headers: { 'x-key': 'k' },
    },
  },
  {
    name: 'OTEL_SERVICE_NAME, sampler argument and headers',
    env: {
      OTEL_SERVICE_NAME: 'env-name',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-env=1,authorization=Bearer%20abc',
    },
    expected: {
      serviceName: 'env-name',
      sampleRatio: 0.1,
      headers: { 'x-env': '1', authorization: 'Bearer abc' },
    },
  },
  {
    name: 'traces headers win over the generic ones',
    env: { OTEL_EXPORTER_OTLP_HEADERS: 'a=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=2' },
    expected: { headers: { b: '2' } },
  },
  {
    name: 'a sampler argument out of range is ignored',
    env: { OTEL_TRACES_SAMPLER_ARG: '7' },
    expected: { sampleRatio: 1 },
  },
  {
    name: 'the argument of another sampler is not a ratio',
    env: { OTEL_TRACES_SAMPLER: 'jaeger_remote', OTEL_TRACES_SAMPLER_ARG: '0.3' },
    expected: { sampleRatio: 1 },
  },
  {
    name: 'always_off samples no new trace',
    env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
    expected: { sampleRatio: 0 },
  },
];

describe('tracing settings', () => {
  it.each(cases)('$name', ({ section, env, expected }) => {
    const settings = tracingSettings({ ...empty, ...section }, env ?? {});
    expect(settings).toMatchObject(expected);
  });

  it('skips header pairs that are not key=value or not valid percent-encoding', () => {
    expect(parseOtlpHeaders('a=1,broken,=x,b=%zz,c= 3 ')).toEqual({ a: '1', c: '3' });
    expect(parseOtlpHeaders('  ')).toBeUndefined();
  });
});
