/**
 * The leak oracle (issue: nothing wider than what was issued leaves scopegate). A programmable
 * upstream places its tokens and unnarrowed claims in one carrier per cell (status line, each
 * header, redirects, form_post pages of every type and size, JSON and error bodies in every
 * encoding, ID token, userinfo and introspection answers, discovery); fast-check drives the
 * client's request encodings across scopegate's routes; every byte the client receives is read
 * as a client would read it and must hold no piece of an upstream token and no claim wider than
 * issued (leak-oracle.ts says precisely what is legitimate).
 *
 * LEAK_ORACLE_CASES sets the number of cases (default below, spread evenly over the cells, each
 * cell at least its plain request); LEAK_ORACLE_SEED changes the seed (default fixed, so the
 * known-leak list is reproducible); LEAK_ORACLE_REPORT=1 prints every leaking cell.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { knownLeak } from './known-leaks.js';
import { type LeakCase, runCase } from './leak-case.js';
import type { Finding } from './leak-oracle.js';
import { type LeakUpstream, startLeakUpstream } from './leak-upstream.js';
import { plainRequest, type RequestEncoding, ROUTES, requestEncodings } from './routes.js';

const DEFAULT_CASES = 700;
const DEFAULT_SEED = 18;
const CASES = Number(process.env.LEAK_ORACLE_CASES ?? DEFAULT_CASES);
const SEED = Number(process.env.LEAK_ORACLE_SEED ?? DEFAULT_SEED);
const DEFAULT_RUN = CASES === DEFAULT_CASES && SEED === DEFAULT_SEED;

const CELLS = ROUTES.flatMap((route) =>
  route.carriers.flatMap((carrier) =>
    carrier.variants.map((variant) => ({ route, carrier, variant })),
  ),
);
const RUNS_PER_CELL = Math.max(1, Math.round(CASES / CELLS.length));

let upstream: LeakUpstream;
let gateway: TestGateway;
const totals = { cases: 0, delivered: 0, leaking: 0 };
const leakingCells: string[] = [];
const started = Date.now();

beforeAll(async () => {
  upstream = await startLeakUpstream();
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: {
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
    },
  });
});

afterAll(async () => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `leak oracle: ${totals.cases} cases over ${CELLS.length} cells (${RUNS_PER_CELL} per cell, seed ${SEED}) in ${seconds} s; ${totals.delivered} delivered the carrier to scopegate; ${totals.leaking} leaked\n`,
  );
  if (process.env.LEAK_ORACLE_REPORT) {
    process.stdout.write(`leaking cells:\n${leakingCells.join('\n')}\n`);
  }
  await gateway?.close();
  await upstream?.close();
});

/** A stable per-cell seed, so a cell's cases do not depend on which other cells exist. */
function cellSeed(key: string): number {
  let hash = SEED;
  for (const c of key) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) | 0;
  return hash;
}

function describeLeak(leakCase: LeakCase, findings: readonly Finding[], status: number): string {
  const { route, carrier, variant, request } = leakCase;
  return [
    `${route.name} × ${carrier.name}/${variant} leaked (status ${status}) for request ${JSON.stringify(request)}:`,
    ...findings.slice(0, 6).map((f) => `  ${f.what} in ${f.where}: ${f.excerpt}`),
  ].join('\n');
}

for (const route of ROUTES) {
  describe(`route ${route.name}`, () => {
    for (const carrier of route.carriers) {
      for (const variant of carrier.variants) {
        const known = knownLeak(route.name, carrier.name, variant);
        const title = `${carrier.name}/${variant}${known ? ' (known leak on this branch)' : ''}`;
        it(title, { timeout: 120_000 }, async () => {
          const leaks: string[] = [];
          const property = fc.asyncProperty(requestEncodings, async (request: RequestEncoding) => {
            const leakCase = { route, carrier, variant, request };
            const result = await runCase(upstream, gateway.url, leakCase);
            totals.cases++;
            if (result.delivered) totals.delivered++;
            if (result.findings.length === 0) return;
            totals.leaking++;
            const text = describeLeak(leakCase, result.findings, result.status);
            leaks.push(text);
            if (leaks.length === 1) {
              const first = result.findings[0];
              leakingCells.push(
                `${route.name} × ${carrier.name}/${variant}: ${first?.what} in ${first?.where}`,
              );
            }
            if (known === undefined) throw new Error(text);
          });
          await fc.assert(property, {
            numRuns: RUNS_PER_CELL,
            seed: cellSeed(`${route.name}|${carrier.name}|${variant}`),
            examples: [[plainRequest(route)]],
            endOnFailure: true,
          });
          if (known !== undefined && DEFAULT_RUN) {
            expect(
              leaks.length,
              `${route.name} × ${carrier.name}/${variant} no longer leaks: remove it from KNOWN_LEAKS_ON_THIS_BRANCH`,
            ).toBeGreaterThan(0);
          }
        });
      }
    }
  });
}
