/**
 * The Auth0 emulator in a process of its own, for benchmarks: prints its URL as one JSON line on
 * stdout, then serves until stdin closes or it is killed.
 */
import { startAuth0Emulator } from '../fixtures/auth0-emulator/auth0-emulator.js';
import { BENCH_AUDIENCE, BENCH_CLIENT } from './token-path-setup.js';

const emulator = await startAuth0Emulator({
  clients: [BENCH_CLIENT],
  defaultAudience: BENCH_AUDIENCE,
});
process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void emulator.close().then(() => process.exit(0));
});
