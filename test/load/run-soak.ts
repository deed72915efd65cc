/**
 * The long form of the load and soak run, by hand: `npm run soak -- --requests 50000
 * --concurrency 16 --seconds 600`. Prints progress per round and the report; exits non-zero when
 * a check fails. Loopback only: the gateway and the emulator listen on 127.0.0.1, port 0.
 */
import { parseArgs } from 'node:util';
import { runSoak, type SoakReport } from './soak.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '600' },
    seed: { type: 'string', default: '7' },
  },
});

function failures(report: SoakReport): string[] {
  const problems: string[] = [];
  if (report.unexpected.length > 0)
    problems.push(`${report.unexpected.length} unexpected statuses`);
  if (report.leaks.length > 0) problems.push(`${report.leaks.length} upstream tokens leaked`);
  if (report.rss.endMiB - report.rss.warmMiB > 96) problems.push('resident memory grew > 96 MiB');
  if (report.shutdown.unexpected.length > 0) problems.push('admitted requests lost on SIGTERM');
  if (report.shutdown.exitCode !== 0) problems.push(`exit code ${report.shutdown.exitCode}`);
  return problems;
}

const report = await runSoak({
  requests: Number(values.requests),
  concurrency: Number(values.concurrency),
  maxSeconds: Number(values.seconds),
  seed: Number(values.seed),
  onRound: ({ round, sent, fault, rssMiB }) => {
    if (round % 10 === 0 || fault !== 'none') {
      process.stdout.write(
        `round ${round}: ${sent} requests, upstream tokens ${fault === 'none' ? 'honest' : `broken (${fault})`}, gateway RSS ${rssMiB.toFixed(1)} MiB\n`,
      );
    }
  },
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
const problems = failures(report);
process.stdout.write(
  `${report.sent} requests in ${report.seconds.toFixed(1)} s (${(report.sent / report.seconds).toFixed(0)} req/s), ` +
    `${report.faultRounds} of ${report.rounds} rounds with broken upstream tokens; ` +
    `RSS ${report.rss.warmMiB.toFixed(1)} MiB after warm-up, peak ${report.rss.peakMiB.toFixed(1)}, end ${report.rss.endMiB.toFixed(1)}; ` +
    `SIGTERM: ${report.shutdown.answered}/${report.shutdown.admitted} admitted answered, exit ${report.shutdown.exitCode} after ${report.shutdown.exitMs} ms\n`,
);
if (problems.length > 0) {
  process.stdout.write(`FAILED: ${problems.join('; ')}\n`);
  process.exitCode = 1;
}
