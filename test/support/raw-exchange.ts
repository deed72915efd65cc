/**
 * One HTTP exchange with every byte of the answer kept: status line, raw header lines and body.
 * A leak oracle must look at exactly what the client receives, not at what fetch() makes of it.
 */
import { request } from 'node:http';

export interface RawExchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The status line, every header line and the body, as text. */
  all: string;
}

export function exchange(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          all: `${lines.join('\r\n')}\r\n\r\n${body.toString('latin1')}`,
        });
      });
    });
    sent.on('error', reject);
    sent.end(init.body);
  });
}
