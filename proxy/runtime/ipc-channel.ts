/**
 * Request and answer over a node:cluster IPC channel, in both directions: a worker asks the
 * primary (the shared revocation list, replay guard and token cache), the primary asks a worker
 * (readiness, metrics, a new configuration). Every question has an id and a deadline; one that is
 * not answered in time, or whose channel closes, is an IpcUnavailable error, which the stores turn
 * into `503 temporarily_unavailable` like an unreachable Redis: fail closed, never "not revoked".
 *
 * Messages carry a marker member, so the channel ignores what others send on the same pipe
 * (prom-client's and node:cluster's own messages).
 */

/** One side of the pipe: a cluster Worker seen from the primary, or the worker's own process. */
export interface IpcEndpoint {
  /** Sends; a failure (the other side gone) comes to `done` or is thrown, never left unhandled. */
  send(message: IpcMessage, done: (error: Error | null) => void): void;
  onMessage(listener: (message: unknown) => void): () => void;
}

const MARK = 'scopegate-ipc';

export type IpcMessage =
  | { mark: typeof MARK; kind: 'ask'; id: number; op: string; payload: unknown }
  | { mark: typeof MARK; kind: 'answer'; id: number; ok: true; value: unknown }
  | { mark: typeof MARK; kind: 'answer'; id: number; ok: false; code: string; message: string }
  | { mark: typeof MARK; kind: 'note'; op: string; payload: unknown };

/** The other side did not answer in time, or the channel is gone. */
export class IpcUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcUnavailable';
  }
}

/** The other side answered with an error; `code` says which (see IpcFailure). */
export class IpcRemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpcRemoteError';
  }
}

/** Thrown by a handler to send a coded error back (a full list, an unknown op). */
export class IpcFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpcFailure';
  }
}

export type IpcHandler = (payload: unknown) => unknown;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

function isMessage(value: unknown): value is IpcMessage {
  return typeof value === 'object' && value !== null && (value as { mark?: unknown }).mark === MARK;
}

export class IpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, IpcHandler>();
  private readonly notes = new Map<string, (payload: unknown) => void>();
  private readonly stopListening: () => void;
  private closed = false;

  constructor(private readonly endpoint: IpcEndpoint) {
    this.stopListening = endpoint.onMessage((message) => this.receive(message));
  }

  /** Answers questions named `op`; what the handler returns (or resolves to) is the answer. */
  handle(op: string, handler: IpcHandler): void {
    this.handlers.set(op, handler);
  }

  /** Receives one-way notes named `op`. */
  onNote(op: string, listener: (payload: unknown) => void): void {
    this.notes.set(op, listener);
  }

  /** Asks the other side; rejects with IpcUnavailable after `timeoutMs` or when it goes away. */
  request(op: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new IpcUnavailable('the IPC channel is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcUnavailable(`no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.post({ mark: MARK, kind: 'ask', id, op, payload }, (error) => {
        const waiting = this.pending.get(id);
        if (waiting === undefined) return;
        this.pending.delete(id);
        clearTimeout(waiting.timer);
        waiting.reject(new IpcUnavailable(`${op} not sent: ${error.message}`));
      });
    });
  }

  notify(op: string, payload: unknown): void {
    if (!this.closed) this.post({ mark: MARK, kind: 'note', op, payload }, () => {});
  }

  /** Every question still waiting fails now (the other side exited). */
  close(reason = 'the IPC channel closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const [id, waiting] of this.pending) {
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.reject(new IpcUnavailable(reason));
    }
  }

  private post(message: IpcMessage, onError: (error: Error) => void): void {
    try {
      this.endpoint.send(message, (error) => {
        if (error) onError(error);
      });
    } catch (error) {
      onError(error as Error);
    }
  }

  private receive(message: unknown): void {
    if (!isMessage(message) || this.closed) return;
    switch (message.kind) {
      case 'answer': {
        const waiting = this.pending.get(message.id);
        if (waiting === undefined) return; // answered after its deadline
        this.pending.delete(message.id);
        clearTimeout(waiting.timer);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(new IpcRemoteError(message.code, message.message));
        return;
      }
      case 'note':
        this.notes.get(message.op)?.(message.payload);
        return;
      case 'ask':
        void this.answer(message.id, message.op, message.payload);
    }
  }

  private async answer(id: number, op: string, payload: unknown): Promise<void> {
    const handler = this.handlers.get(op);
    let reply: IpcMessage;
    try {
      if (handler === undefined) throw new IpcFailure('unknown_op', `no handler for ${op}`);
      reply = { mark: MARK, kind: 'answer', id, ok: true, value: await handler(payload) };
    } catch (error) {
      const code = error instanceof IpcFailure ? error.code : 'failed';
      reply = {
        mark: MARK,
        kind: 'answer',
        id,
        ok: false,
        code,
        message: (error as Error).message,
      };
    }
    // The asker gone meanwhile is its own deadline's business.
    this.post(reply, () => {});
  }
}

/** The worker's end: its own process, connected to the primary. */
export function primaryEndpoint(): IpcEndpoint {
  return {
    send(message, done) {
      if (process.send === undefined || !process.connected) {
        throw new Error('not connected to the primary');
      }
      process.send(message, undefined, {}, done);
    },
    onMessage(listener) {
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}
