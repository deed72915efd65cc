/**
 * What the Sentinel and Cluster failover tests share: how many times a replica's connection of a
 * use (token_cache, revocation) switched primary, and waiting until every connection of every
 * replica did, with each connection's story printed when one never does.
 */
import type { TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

export const REDIS_USES = ['token_cache', 'revocation'] as const;

export async function switches(replica: TestGateway, use: string): Promise<number> {
  return (await scrape(replica.adminUrl)).value('scopegate_redis_primary_switches_total', { use });
}

/** Resolves once both uses on every replica counted a switch; throws (with diagnostics) after 30 s. */
export async function everyConnectionSwitched(
  replicas: readonly TestGateway[],
  what: string,
): Promise<void> {
  await waitFor(
    async () => {
      for (const replica of replicas) {
        for (const use of REDIS_USES) {
          if ((await switches(replica, use)) < 1) return undefined;
        }
      }
      return true;
    },
    what,
    30_000,
  ).catch(async (error) => {
    // What each connection did, to tell a connection that never came back from a slow one.
    for (const replica of replicas) {
      const metrics = await scrape(replica.adminUrl);
      console.error(
        `${replica.url}: switches ${JSON.stringify(metrics.find('scopegate_redis_primary_switches_total'))}, ` +
          `reconnects ${JSON.stringify(metrics.find('scopegate_redis_reconnects_total'))}\n` +
          replica.logs.lines
            .filter((line) => line.includes('redis'))
            .slice(-10)
            .join('\n'),
      );
    }
    throw error;
  });
}
