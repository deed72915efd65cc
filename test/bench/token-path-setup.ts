/** The client and API the token-path benchmark uses (public benchmark values). */
import type { EmulatorClient } from '../fixtures/auth0-emulator/auth0-emulator.js';

export const BENCH_AUDIENCE = 'https://bench-api.example.com';

export const BENCH_CLIENT: EmulatorClient = {
  clientId: 'bench-m2m',
  clientSecret: 'bench-secret',
  grants: {
    [BENCH_AUDIENCE]: [
      'read:claims',
      'write:claims',
      'read:reports',
      'delete:claims',
      'accounts.*',
    ],
  },
};
