/**
 * One access line for every request on the public listener, written when its response closes,
 * and the request-duration histogram per route. The gateway names the route as it classifies
 * the request; the parts that know more (the token endpoint, the reverse proxy) add to the same
 * record, which rides on the response, so there is still exactly one line per request.
 *
 * Kept cheap for the hot path: the state is one object per request on the response (no table
 * keyed by requests), the close listener is one function shared by all requests, histogram
 * children are bound once per label pair, and proxied successes can be sampled
 * (`log.access.sample_proxied`); errors, and every other route, always write their line.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from './log.js';
import { type Metrics, statusClass } from './metrics.js';

/** The route classes a request is counted and logged under: the only `route` label values. */
export const ACCESS_ROUTES = [
  'token',
  'jwks',
  'discovery',
  'userinfo',
  'introspection',
  'revocation',
  'pushed_authorization',
  'proxy',
  'not_served',
  'refused',
] as const;
export type AccessRoute = (typeof ACCESS_ROUTES)[number];

/** What the token endpoint adds to its request's line (see token/access-record.ts). */
export interface TokenAccessFields {
  /** What the token endpoint answered, or would have answered to a client that went away. */
  status: number;
  clientId: string | undefined;
  clientIdHint: string | undefined;
  grantType: string | undefined;
  requestedScopes: number | undefined;
  issuedScopes: number | undefined;
  outcome: string;
  upstreamStatus: number | undefined;
  reason: string | undefined;
  exchange: { subject: 'scopegate' | 'upstream'; actor: boolean; retargeted: boolean } | undefined;
}

/** The status logged for a response that never started: the client went away first (nginx's). */
export const CLIENT_CLOSED = 499;

/** Longest path written to a line: paths are the client's and can be long. */
const MAX_PATH = 256;

export interface RequestAccess {
  route: AccessRoute;
  /** The status the upstream answered the proxied request with. */
  upstreamStatus: number | undefined;
  /** The request's target path, without the query (which may carry codes or hints). */
  path: string;
  /** Set by the token endpoint: its fields replace the generic line's. */
  token: TokenAccessFields | undefined;
  /**
   * The token endpoint handles the request and adds its fields (addTokenFields): a response that
   * closes before it has (the client went away mid-body) waits for them, so the line is still one.
   */
  awaitingToken: boolean;
}

/** What is known when the response closed. */
interface Closed {
  seconds: number;
  status: number;
  bytes: number;
  aborted: true | undefined;
}

interface AccessState extends RequestAccess {
  requestId: string;
  started: bigint;
  bytesBefore: number;
  sampleProxied: number;
  log: AccessLog;
  /** Set when the response closed while the token endpoint's fields were still to come. */
  closed: Closed | undefined;
}

const ACCESS = Symbol('scopegate.access');
type Tracked = ServerResponse & { [ACCESS]?: AccessState };

/** The access record of the request `res` answers, when the gateway opened one. */
export function accessOf(res: ServerResponse): RequestAccess | undefined {
  return (res as Tracked)[ACCESS];
}

/**
 * The token endpoint's fields for the line of the request `res` answers; false when no access
 * record is open (the caller logs them itself). Written at once if the response already closed.
 */
export function addTokenFields(res: ServerResponse, fields: TokenAccessFields): boolean {
  const state = (res as Tracked)[ACCESS];
  if (state === undefined) return false;
  state.token = fields;
  if (state.closed !== undefined) state.log.write(res, state, state.closed);
  return true;
}

export class AccessLog {
  private readonly durations = new Map<string, { observe(value: number): void }>();
  private readonly onClose: (this: ServerResponse) => void;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly random: () => number = Math.random,
  ) {
    const log = this;
    // One function for every request: `this` is the response that closed.
    this.onClose = function onClose(this: ServerResponse) {
      const state = (this as Tracked)[ACCESS];
      if (state !== undefined) log.finish(this, state);
    };
  }

  /** Opens the record of one request; the line is written when `res` closes. */
  begin(res: ServerResponse, requestId: string, sampleProxied: number): RequestAccess {
    const state: AccessState = {
      route: 'proxy',
      upstreamStatus: undefined,
      path: '',
      token: undefined,
      awaitingToken: false,
      requestId,
      started: process.hrtime.bigint(),
      bytesBefore: res.req.socket.bytesWritten,
      sampleProxied,
      log: this,
      closed: undefined,
    };
    (res as Tracked)[ACCESS] = state;
    res.once('close', this.onClose);
    return state;
  }

  private finish(res: ServerResponse, state: AccessState): void {
    const seconds = Number(process.hrtime.bigint() - state.started) / 1e9;
    const status = res.headersSent ? res.statusCode : CLIENT_CLOSED;
    this.durationFor(state.route, statusClass(status)).observe(seconds);
    const closed: Closed = {
      seconds,
      status,
      bytes: res.req.socket.bytesWritten - state.bytesBefore,
      aborted: res.writableFinished ? undefined : true,
    };
    if (state.awaitingToken && state.token === undefined) {
      state.closed = closed;
      return;
    }
    if (
      state.route === 'proxy' &&
      status < 400 &&
      state.sampleProxied < 1 &&
      this.random() >= state.sampleProxied
    ) {
      return;
    }
    this.write(res, state, closed);
  }

  /** The line itself (exactly once per request). */
  write(res: ServerResponse, state: AccessState, closed: Closed): void {
    state.closed = undefined;
    const req = res.req;
    const line = {
      requestId: state.requestId,
      route: state.route,
      method: req.method,
      path: state.path.length > MAX_PATH ? `${state.path.slice(0, MAX_PATH)}…` : state.path,
      status: closed.status,
      durationMs: Math.round(closed.seconds * 1e6) / 1e3,
      bytes: closed.bytes,
      peer: req.socket.remoteAddress,
      upstreamStatus: state.upstreamStatus,
      aborted: closed.aborted,
    };
    if (state.token === undefined) {
      this.logger.info(line, 'request');
    } else {
      // The token endpoint's own fields, its status included: one line per token request, under
      // its documented name.
      this.logger.info({ ...line, ...state.token }, 'token request');
    }
  }

  private durationFor(route: AccessRoute, status: string): { observe(value: number): void } {
    const key = `${route} ${status}`;
    let child = this.durations.get(key);
    if (child === undefined) {
      child = this.metrics.requestDuration.labels(route, status);
      this.durations.set(key, child);
    }
    return child;
  }
}
