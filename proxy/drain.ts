/**
 * Graceful close of an HTTP server: stop accepting, let admitted requests finish, and close
 * keep-alive connections as soon as they go idle instead of waiting out their idle timeout
 * (Node's server.close() alone keeps a connection that was busy when it was called open until
 * keepAliveTimeout). After the grace period whatever is left is cut.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface DrainResult {
  /** Requests that were cut because the grace period ran out. */
  cut: number;
}

export class HttpDrain {
  private readonly active = new Set<ServerResponse>();
  private draining = false;

  constructor(private readonly server: Server) {}

  /** Requests being served right now. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Wraps the server's handler so that every admitted request is tracked. */
  track(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      this.active.add(res);
      res.on('close', () => {
        this.active.delete(res);
        // The connection is idle once its response is done: close it rather than keep it alive.
        if (this.draining) setImmediate(() => this.server.closeIdleConnections());
      });
      // Arrived on a kept-alive connection during the drain: served, then the connection closes.
      if (this.draining) res.setHeader('connection', 'close');
      handler(req, res);
    };
  }

  /** Resolves when every connection is closed: by itself, or cut after `graceMs`. */
  drain(graceMs: number, onCut?: (inFlight: number) => void): Promise<DrainResult> {
    this.draining = true;
    for (const res of this.active) {
      // Responses not started yet tell the client this connection ends with them.
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    return new Promise((resolve) => {
      let cut = 0;
      const force = setTimeout(() => {
        cut = this.active.size;
        onCut?.(cut);
        this.server.closeAllConnections();
      }, graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve({ cut });
      });
      this.server.closeIdleConnections();
    });
  }
}
