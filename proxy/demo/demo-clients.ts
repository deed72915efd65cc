/**
 * The clients and APIs of the demo (`npm start`), registered in the demo upstream.
 *
 * The secrets below are PUBLIC DEMO VALUES, published on purpose so anyone can run the demo's
 * curl commands. They only authenticate against the local demo upstream and protect nothing.
 */
import type { DemoClient } from './demo-token-endpoint.js';

export const DEMO_AUDIENCES = {
  /** The first-party API: reporting and accounts services call it. */
  api: 'https://api.example.com',
  /** The partner API whose integration wants `scope` as a JSON array (seeds/001_*). */
  partnerApi: 'https://partner-api.example.com',
} as const;

/** What the demo upstream uses when a token request names no audience (Auth0's "Default Audience"). */
export const DEMO_DEFAULT_AUDIENCE: string = DEMO_AUDIENCES.api;

export const DEMO_CLIENTS: DemoClient[] = [
  {
    // Asks for read:claims and, upstream, gets all four (seeds/000_*): the down-scoping demo.
    clientId: 'm2m-reporting',
    clientSecret: 'demo-secret-reporting',
    grants: {
      [DEMO_AUDIENCES.api]: ['read:claims', 'write:claims', 'read:reports', 'delete:claims'],
    },
  },
  {
    // The scope-as-array partner from seeds/001_*.
    clientId: 'partner-x',
    clientSecret: 'demo-secret-partner',
    grants: {
      [DEMO_AUDIENCES.partnerApi]: [
        'read:appointments',
        'read:prescriptions',
        'create:appointments',
      ],
    },
  },
  {
    // Granted a template: asks scopegate for concrete scopes such as accounts.read.1234
    // (dynamic scopes, seeds/004_*). Auth0 itself knows `accounts.*` only as a literal string.
    clientId: 'accounts-service',
    clientSecret: 'demo-secret-accounts',
    grants: {
      [DEMO_AUDIENCES.api]: ['accounts.*', 'read:claims'],
    },
  },
];
