/**
 * node:http, loaded with require rather than imported as an ES module.
 *
 * Why: an ES module import of a built-in reads every one of its exports to build the namespace,
 * and on Node.js 26 node:http exports WebSocket, CloseEvent and MessageEvent as getters that load
 * Node.js's own bundled undici on first read. scopegate never uses them (its upstream client is the
 * undici package), and that load cost every process about 2.6 MiB of V8 heap and 15 MiB of
 * resident memory (`import http from 'node:http'` against `require('node:http')`, each alone in a
 * fresh process, after a full GC). Type-only imports of node:http are erased and stay as they are;
 * the lint (.dependency-cruiser.cjs) refuses any other import of it outside this file.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const nodeHttp = require('node:http') as typeof import('node:http');
