/**
 * What the Redis connections do, as metrics: reconnections and, behind Sentinel, switches to a
 * new primary, per use of Redis (`use` is one of REDIS_USES: a fixed set, never from a request).
 * A failover shows as one switch per connection and replica, a flapping link as reconnects
 * without switches. In a Redis Cluster a reconnect is a node connection ready again after it was
 * lost, and a switch is a node newly serving slots as a primary (a promoted replica, or a node
 * added by resharding), seen on each refresh of the slot map.
 *
 * The counters are registered on the registry of the process's Metrics once, the first time a
 * connection asks for them, and exist at 0 from then on for every use, so increase() sees the
 * first failover.
 */
import { Counter } from 'prom-client';
import type { Metrics } from '../../observability/metrics.js';

export const REDIS_USES = ['token_cache', 'revocation', 'replay', 'authorization'] as const;
export type RedisUse = (typeof REDIS_USES)[number];

export interface RedisMetrics {
  reconnects: Counter<'use'>;
  primarySwitches: Counter<'use'>;
}

const byMetrics = new WeakMap<Metrics, RedisMetrics>();

export function redisMetricsOf(metrics: Metrics | undefined): RedisMetrics | undefined {
  if (metrics === undefined) return undefined;
  const known = byMetrics.get(metrics);
  if (known !== undefined) return known;
  const registers = [metrics.registry];
  const created: RedisMetrics = {
    reconnects: new Counter({
      name: 'scopegate_redis_reconnects_total',
      help: 'Redis connections ready again after they were lost (in a cluster: per node), per use of Redis',
      labelNames: ['use'],
      registers,
    }),
    primarySwitches: new Counter({
      name: 'scopegate_redis_primary_switches_total',
      help: 'Reconnections to another Redis server than before (behind Sentinel: a new primary after a failover; in a cluster: a node newly serving slots as primary), per use',
      labelNames: ['use'],
      registers,
    }),
  };
  for (const use of REDIS_USES) {
    created.reconnects.inc({ use }, 0);
    created.primarySwitches.inc({ use }, 0);
  }
  byMetrics.set(metrics, created);
  return created;
}

/** The onReconnect of a connection for `use`: counts it. */
export function countReconnects(
  metrics: Metrics | undefined,
  use: RedisUse,
): ((switched: boolean) => void) | undefined {
  const counters = redisMetricsOf(metrics);
  if (counters === undefined) return undefined;
  return (switched) => {
    counters.reconnects.inc({ use });
    if (switched) counters.primarySwitches.inc({ use });
  };
}
