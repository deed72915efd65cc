/**
 * /metrics for the whole when workers run: every worker's registry and the primary's own, added
 * up by prom-client's cluster aggregation (AggregatorRegistry.aggregate) with each metric's own
 * `aggregator` (proxy/observability/metrics.ts says which gauges are not summed). The primary asks
 * over its own channel rather than through clusterMetrics(): a worker that just died must cost a
 * short deadline, not clusterMetrics' five seconds, and the primary's registry must be in the sum.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import { WORKER_OPS, WORKER_QUESTION_MS } from './worker-ops.js';
import type { WorkerSlot } from './worker-supervisor.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export async function clusterExposition(
  primary: Metrics,
  workers: readonly WorkerSlot[],
): Promise<string> {
  const own = await primary.registry.getMetricsAsJSON();
  const answers = await Promise.all(
    workers.map((slot) =>
      slot.channel
        ?.request(WORKER_OPS.metrics, null, WORKER_QUESTION_MS)
        .then((json) => json as MetricsJson)
        .catch(() => undefined),
    ),
  );
  const registries = [own, ...answers.filter((json): json is MetricsJson => json !== undefined)];
  return AggregatorRegistry.aggregate(registries).metrics();
}
