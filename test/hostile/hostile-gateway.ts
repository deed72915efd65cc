/**
 * The hostile suites' setup: a programmable upstream (test/support/custom-upstream.ts) with a
 * scopegate in front of it, started once per file and closed after it.
 */
import { afterAll, beforeAll } from 'vitest';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

export interface HostileSetup {
  upstream: CustomUpstream;
  gateway: TestGateway;
  tokenUrl: string;
}

/** Registers the hooks; the returned object is filled in before the first test runs. */
export function useHostileGateway(config: Record<string, unknown> = {}): HostileSetup {
  const setup = {} as HostileSetup;
  beforeAll(async () => {
    setup.upstream = await startCustomUpstream();
    setup.gateway = await startTestGateway({ upstreamUrl: setup.upstream.url, config });
    setup.tokenUrl = `${setup.gateway.url}/oauth/token`;
  });
  afterAll(async () => {
    await setup.gateway?.close();
    await setup.upstream?.close();
  });
  return setup;
}
