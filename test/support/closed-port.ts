/** A loopback URL nothing listens on: a port taken from the OS and released again. */
import { freeLoopbackPort } from './free-port.js';

export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freeLoopbackPort()}`;
}
