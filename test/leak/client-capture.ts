/**
 * The client side of a leak case: one HTTP/1.1 request sent exactly as built (node:http does not
 * normalise the path) and everything that comes back kept as received: the status line with its
 * reason phrase, every header line in order, and the body bytes still content-encoded.
 */
import { request } from 'node:http';

export interface ClientRequest {
  method: string;
  /** Sent as is: spelling variants of the path are the point. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Capture {
  statusLine: string;
  status: number;
  /** `name: value`, as many lines as the server sent. */
  headerLines: Array<[string, string]>;
  /** The body as framed (chunking undone), content codings still applied. */
  body: Buffer;
}

export function send(baseUrl: string, message: ClientRequest, timeoutMs = 5000): Promise<Capture> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...message.headers, connection: 'close' };
    if (message.body !== undefined) headers['content-length'] = String(message.body.length);
    const req = request(
      { host: hostname, port: Number(port), method: message.method, path: message.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const lines: Array<[string, string]> = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            lines.push([res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string]);
          }
          resolve({
            statusLine: `HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`,
            status: res.statusCode ?? 0,
            headerLines: lines,
            body: Buffer.concat(chunks),
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(message.body);
  });
}
