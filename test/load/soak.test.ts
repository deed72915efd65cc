/**
 * The short form of the load and soak run (soak.ts), in CI: a bounded number of mixed requests
 * through the real gateway process, then SIGTERM under load. The long form: `npm run soak`.
 */
import { describe, expect, it } from 'vitest';
import { leakIn, runSoak } from './soak.js';

describe('load and soak, short form', () => {
  it('no unexpected status, no upstream token, bounded memory, no admitted request lost on SIGTERM', async () => {
    const report = await runSoak({ requests: 800, concurrency: 8, maxSeconds: 60, seed: 11 });
    expect(report.unexpected).toEqual([]);
    expect(report.leaks).toEqual([]);
    expect(report.faultRounds).toBeGreaterThan(0);
    expect(report.sent).toBeGreaterThan(0);
    // Bounded: growth after warm-up well under what a per-request leak would cost at this count.
    expect(report.rss.endMiB - report.rss.warmMiB).toBeLessThan(96);
    expect(report.shutdown.unexpected).toEqual([]);
    expect(report.shutdown.answered).toBe(report.shutdown.admitted);
    expect(report.shutdown.exitCode).toBe(0);
  }, 180_000);

  it('the leak check sees an upstream token and lets scopegate tokens through', () => {
    const jwt = (header: object, payload: object) =>
      `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
    const ours = jwt({ alg: 'ES256', kid: 'soak-key' }, { iss: 'https://gateway.test' });
    const upstream = jwt({ alg: 'RS256', kid: 'emulator-1' }, { iss: 'http://127.0.0.1:1/' });
    const answer = (body: string) => ({ status: 200, body, text: `x: y\n\n${body}` });
    expect(leakIn(answer(JSON.stringify({ access_token: ours })))).toBeUndefined();
    expect(leakIn(answer(JSON.stringify({ access_token: upstream })))).toMatch(/not signed/);
    expect(leakIn(answer(JSON.stringify({ access_token: 'opaque-upstream-token' })))).toMatch(
      /did not sign/,
    );
    expect(leakIn(answer(`{"error":"server_error","error_description":"${upstream}"}`))).toMatch(
      /not signed/,
    );
    expect(
      leakIn({ status: 200, body: '', text: `location: https://c/cb#access_token=${upstream}` }),
    ).toMatch(/not signed/);
  });
});
