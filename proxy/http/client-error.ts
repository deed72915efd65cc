/**
 * What a client gets when Node's HTTP server gives up on its request before (or while) the
 * gateway handles it: a request line or headers it cannot parse, headers that are too large,
 * broken body framing, headers or a request that did not arrive within `server.headers_timeout` /
 * `server.request_timeout`. Node would answer these with a bare status line; scopegate answers
 * with the same OAuth error JSON as everything else (invariant 6), then closes the connection.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { OAuthError } from './oauth-error.js';

interface ParserError extends Error {
  code?: string;
}

/** The OAuth error for a client error, or undefined when the connection is simply gone. */
export function clientErrorAnswer(error: ParserError): OAuthError | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new OAuthError('invalid_request', 'the request did not arrive in time', 408);
    case 'HPE_HEADER_OVERFLOW':
      return new OAuthError('invalid_request', 'the request headers are too large', 431);
    case 'HPE_INVALID_METHOD':
    case 'HPE_INVALID_URL':
      return new OAuthError('invalid_request', 'the request line is malformed', 400);
    default:
      return new OAuthError('invalid_request', 'the request is malformed', 400);
  }
}

/** The response Node has started on this connection, if any (its own check uses the same). */
function inFlightResponse(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/** The server's 'clientError' listener. */
export function answerClientError(error: ParserError, socket: Socket): void {
  const answer = clientErrorAnswer(error);
  // Bytes of a response already on the wire: anything more would corrupt it. Closing the
  // connection is the only signal left.
  if (answer === undefined || !socket.writable || inFlightResponse(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(answer.toJSON());
  const reason =
    answer.status === 408
      ? 'Request Timeout'
      : answer.status === 431
        ? 'Request Header Fields Too Large'
        : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${answer.status} ${reason}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\n' +
      'pragma: no-cache\r\n' +
      'connection: close\r\n' +
      `\r\n${body}`,
  );
  // A client that neither reads nor closes must not hold the socket.
  socket.setTimeout(1000, () => socket.destroy());
}
