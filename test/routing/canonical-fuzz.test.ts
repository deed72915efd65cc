/**
 * Property-based fuzzing of request-target canonicalisation and routing against reference
 * routers (servlet containers, Express, Spring MVC and a lenient double-decoding reading): no
 * generated target that scopegate would proxy reaches the upstream token endpoint, a blocked
 * path or the upstream discovery document under any of those readings, and what is proxied is
 * exactly the canonical form, which the reverse proxy's own URL parsing leaves unchanged.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { canonicalTarget } from '../../proxy/http/request-target.js';
import { DISCOVERY_PATHS, UpstreamRoutes } from '../../proxy/runtime/upstream-routes.js';
import { REFERENCE_ROUTERS } from './reference-routers.js';
import { requestTarget, spellingOf } from './target-arbitrary.js';

const HOST = 'gateway.test';
const RUNS = 20_000;

interface Setup {
  name: string;
  url: string;
  tokenPath: string;
  blocked: string[];
}

const SETUPS: Setup[] = [
  {
    name: 'upstream at the root',
    url: 'https://idp.example',
    tokenPath: '/oauth/token',
    blocked: ['/api/legacy', '/oauth/ro'],
  },
  {
    name: 'upstream with a base path',
    url: 'https://idp.example/realms/acme',
    tokenPath: '/realms/acme/protocol/openid-connect/token',
    blocked: ['/realms/acme/legacy'],
  },
];

const tally = { generated: 0, refused: 0, proxied: 0, served: 0 };

afterAll(() => {
  // Figures for the record: how much the fuzzer tried and how it was routed.
  console.info(`request-target fuzz: ${JSON.stringify(tally)}`);
});

describe.each(SETUPS)('routing fuzz: $name', (setup) => {
  const upstream = configSchema.shape.upstream.parse({
    url: setup.url,
    token_path: setup.tokenPath,
    blocked_paths: setup.blocked,
  });
  const routes = new UpstreamRoutes(upstream, setup.tokenPath);
  const base = new URL(setup.url).pathname.replace(/\/+$/, '');
  const protectedPaths = [
    setup.tokenPath,
    ...setup.blocked,
    upstream.discovery_path,
    ...DISCOVERY_PATHS.map((path) => `${base}${path}`),
  ];
  // Client spellings: as the client would name the path, and relative to the upstream base path.
  const relative = protectedPaths
    .filter((path) => base !== '' && path.startsWith(`${base}/`))
    .map((path) => path.slice(base.length));
  const targets = fc.oneof(requestTarget, spellingOf([...protectedPaths, ...relative]));

  it('proxies nothing that reaches a protected endpoint under any reference router', () => {
    fc.assert(
      fc.property(targets, (raw) => {
        tally.generated++;
        const canonical = canonicalTarget(raw, HOST);
        if (!canonical.ok) {
          tally.refused++;
          return;
        }
        if (routes.classify(canonical.path) !== 'proxy') {
          tally.served++;
          return;
        }
        tally.proxied++;
        const received = `${base}${canonical.target}`;
        for (const router of REFERENCE_ROUTERS) {
          for (const endpoint of protectedPaths) {
            expect(
              router.reaches(received, endpoint),
              `${router.name}: ${raw} -> ${received}`,
            ).toBe(false);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('canonical targets are fixed points, of scopegate and of WHATWG URL parsing', () => {
    fc.assert(
      fc.property(targets, (raw) => {
        const canonical = canonicalTarget(raw, HOST);
        if (!canonical.ok) return;
        expect(canonicalTarget(canonical.target, HOST)).toEqual(canonical);
        // http-proxy-3 rebuilds the outgoing path through WHATWG URL: it must change nothing.
        const reparsed = new URL(canonical.target, 'http://base.invalid');
        expect(`${reparsed.pathname}${reparsed.search}`).toBe(canonical.target);
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
