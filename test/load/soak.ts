/**
 * The load and soak run: the real `scopegate serve` (a child process) in front of the Auth0
 * emulator, both on loopback, driven with a seeded mix of valid, invalid and faulting requests
 * (soak-requests.ts) in rounds; every few rounds the emulator issues broken tokens. Bounded by a
 * request count and a time limit. It ends with SIGTERM under load.
 *
 * What it checks: every status is one its request may get; no byte any client receives carries
 * a token that scopegate did not sign (the upstream's, honest or broken); the gateway's resident
 * memory stays bounded; every request admitted before SIGTERM is answered, then the process exits 0.
 */
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
  type TokenFault,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SpawnedScopegate, spawnScopegate } from '../support/cli-process.js';
import { prepareTestConfig, type TestConfig } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import {
  pickKind,
  SOAK_API,
  SOAK_CLIENT,
  SOAK_GRANTED,
  type SoakAnswer,
  type SoakRequestKind,
  seededRandom,
} from './soak-requests.js';

export interface SoakOptions {
  /** Requests in the load phase (the shutdown phase adds `concurrency` more). */
  requests: number;
  concurrency: number;
  /** The load phase stops here even if fewer requests were sent. */
  maxSeconds: number;
  seed?: number;
  /** Every n-th round the emulator issues broken tokens. */
  faultEvery?: number;
  onRound?: (report: SoakProgress) => void;
}

export interface SoakProgress {
  round: number;
  sent: number;
  fault: TokenFault;
  rssMiB: number;
}

export interface SoakFinding {
  kind: string;
  status: number;
  detail: string;
}

export interface SoakReport {
  sent: number;
  seconds: number;
  rounds: number;
  faultRounds: number;
  statuses: Record<string, Record<number, number>>;
  unexpected: SoakFinding[];
  leaks: SoakFinding[];
  rss: { warmMiB: number; peakMiB: number; endMiB: number };
  shutdown: {
    admitted: number;
    answered: number;
    unexpected: SoakFinding[];
    exitCode: number | null;
    exitMs: number;
  };
}

const FAULTS: readonly TokenFault[] = [
  'unknown_key',
  'alg_none',
  'bad_signature',
  'wrong_issuer',
  'expired',
  'opaque',
  'embedded_jwk',
  'jku',
  'missing_exp',
];
const GATEWAY_ISSUER = 'https://gateway.test';
const GATEWAY_KID = 'soak-key';
const GRACE_MS = 10_000;
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

function decodePart(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why this answer leaks a token scopegate did not sign, or undefined when it does not. */
export function leakIn(answer: SoakAnswer): string | undefined {
  for (const [jwt] of answer.text.matchAll(JWT_SHAPE)) {
    const [header, payload] = jwt.split('.');
    const parsedHeader = decodePart(header);
    const claims = decodePart(payload);
    if (parsedHeader?.kid !== GATEWAY_KID || claims?.iss !== GATEWAY_ISSUER) {
      return `a JWT not signed by scopegate (kid ${String(parsedHeader?.kid)}, iss ${String(claims?.iss)})`;
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  if (typeof body === 'object' && body !== null && 'access_token' in body) {
    const token = (body as { access_token: unknown }).access_token;
    const header = typeof token === 'string' ? decodePart(token.split('.')[0]) : undefined;
    if (header?.kid !== GATEWAY_KID) return 'an access_token scopegate did not sign';
  }
  return undefined;
}

async function rssMiB(gateway: SpawnedScopegate): Promise<number> {
  const metrics = await scrape(gateway.adminUrl);
  return metrics.value('process_resident_memory_bytes') / (1024 * 1024);
}

/** Runs `count` requests, `concurrency` at a time, recording each answer. */
async function runRound(
  count: number,
  concurrency: number,
  next: () => SoakRequestKind,
  send: (kind: SoakRequestKind) => Promise<void>,
): Promise<void> {
  let left = count;
  const worker = async () => {
    while (left > 0) {
      left--;
      await send(next());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const random = seededRandom(options.seed ?? 7);
  const faultEvery = options.faultEvery ?? 5;
  let emulator: RunningAuth0Emulator | undefined;
  let prepared: TestConfig | undefined;
  let gateway: SpawnedScopegate | undefined;
  try {
    emulator = await startAuth0Emulator({
      clients: [
        {
          clientId: SOAK_CLIENT.id,
          clientSecret: SOAK_CLIENT.secret,
          grants: { [SOAK_API]: SOAK_GRANTED },
        },
      ],
      defaultAudience: SOAK_API,
    });
    prepared = await prepareTestConfig({
      upstreamUrl: emulator.url,
      scopeRequest: 'omit',
      keys: [{ kid: GATEWAY_KID, alg: 'ES256', status: 'active' }],
      config: {
        issuer: GATEWAY_ISSUER,
        // Generous for a loaded CI machine: an honest request must never meet it.
        upstream: { timeout: '2s' },
        server: { watch_config: false, shutdown_grace: `${GRACE_MS}ms` },
        log: { level: 'info', format: 'json' },
      },
    });
    gateway = await spawnScopegate(prepared.configFile);
    const running = gateway;
    const base = running.publicUrl;

    const statuses: Record<string, Record<number, number>> = {};
    const unexpected: SoakFinding[] = [];
    const leaks: SoakFinding[] = [];
    let fault: TokenFault = 'none';
    const send = async (kind: SoakRequestKind, findings = unexpected) => {
      const allowed =
        fault === 'none' ? kind.expected : (kind.expectedWhileFaulty ?? kind.expected);
      let answer: SoakAnswer;
      try {
        answer = await kind.send(base);
      } catch (error) {
        findings.push({ kind: kind.name, status: 0, detail: (error as Error).message });
        return;
      }
      const counts = statuses[kind.name] ?? {};
      statuses[kind.name] = counts;
      counts[answer.status] = (counts[answer.status] ?? 0) + 1;
      if (!allowed.includes(answer.status)) {
        findings.push({
          kind: kind.name,
          status: answer.status,
          detail: `fault ${fault}: ${answer.body.slice(0, 200)}`,
        });
      }
      const leak = leakIn(answer);
      if (leak)
        leaks.push({ kind: kind.name, status: answer.status, detail: `fault ${fault}: ${leak}` });
    };

    const started = Date.now();
    const roundSize = options.concurrency * 8;
    let sent = 0;
    let round = 0;
    let faultRounds = 0;
    let warmMiB = 0;
    let peakMiB = 0;
    while (sent < options.requests && Date.now() - started < options.maxSeconds * 1000) {
      round++;
      fault =
        round % faultEvery === 0
          ? (FAULTS[(round / faultEvery - 1) % FAULTS.length] as TokenFault)
          : 'none';
      if (fault !== 'none') faultRounds++;
      emulator.setFault(fault);
      const count = Math.min(roundSize, options.requests - sent);
      await runRound(
        count,
        options.concurrency,
        () => pickKind(random),
        (kind) => send(kind),
      );
      sent += count;
      const rss = await rssMiB(running);
      if (round === 1) warmMiB = rss;
      peakMiB = Math.max(peakMiB, rss);
      options.onRound?.({ round, sent, fault, rssMiB: rss });
    }
    fault = 'none';
    emulator.setFault('none');
    const endMiB = await rssMiB(running);
    const seconds = (Date.now() - started) / 1000;

    // SIGTERM under load: slow proxied requests and token requests, all admitted before it.
    const shutdownFindings: SoakFinding[] = [];
    const slow: SoakRequestKind = {
      name: 'shutdown: proxied request in flight',
      weight: 0,
      expected: [200],
      send: async (url) => {
        const response = await fetch(`${url}/api/slow?ms=700`);
        const body = await response.text();
        return { status: response.status, text: body, body };
      },
    };
    const token = pickTokenKind();
    const admitted = Array.from({ length: options.concurrency }, (_, i) =>
      send(i % 2 === 0 ? slow : token, shutdownFindings),
    );
    const slowCount = Math.ceil(options.concurrency / 2);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const metrics = await scrape(running.adminUrl);
      if (metrics.value('scopegate_in_flight_requests', { listener: 'public' }) >= slowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    await Promise.all(admitted);
    const exit = await Promise.race([
      running.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), GRACE_MS + 10_000)),
    ]);
    return {
      sent,
      seconds,
      rounds: round,
      faultRounds,
      statuses,
      unexpected,
      leaks,
      rss: { warmMiB, peakMiB, endMiB },
      shutdown: {
        admitted: options.concurrency,
        answered: options.concurrency - shutdownFindings.filter((f) => f.status === 0).length,
        unexpected: shutdownFindings,
        exitCode: exit?.code ?? null,
        exitMs: (exit?.at ?? Date.now()) - signalled,
      },
    };
  } finally {
    await gateway?.stop();
    await emulator?.close();
    await prepared?.remove();
  }
}

function pickTokenKind(): SoakRequestKind {
  const random = seededRandom(1);
  for (;;) {
    const kind = pickKind(random);
    if (kind.name.startsWith('token: subset')) return kind;
  }
}
