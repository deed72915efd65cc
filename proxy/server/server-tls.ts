/**
 * server.tls: the public listener's certificate and key, the CAs client certificates are verified
 * against, and how client certificates are asked for. Read with each configuration generation:
 * a file that cannot be used fails the start, or the reload (the listener keeps the certificate
 * it has), and `check` names it.
 *
 * How client certificates are asked for (server.tls.client_certificate):
 * - `off`: none is asked for.
 * - `optional`: asked for (`requestCert`), never required (`rejectUnauthorized: false`): the
 *   handshake completes without one, and with one that does not chain to client_ca_file, so that
 *   self-signed certificates (RFC 8705 §2.2) can be presented. Whether it chained is recorded
 *   (proxy/http/client-certificate.ts) for what needs a CA-issued one (RFC 8705 §2.1).
 * - `required`: the handshake fails unless the client presents a certificate that chains to
 *   client_ca_file (Node verifies it, dates included, and ends the connection otherwise).
 * With a client_ca_file, Node's `ca` is that bundle alone, so nothing else (not the public roots
 * Node would use otherwise) makes a certificate count as chained.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Config } from '../../config/schema.js';
import { clientCertificateMode } from '../http/client-certificate.js';
import {
  readCertificateAndKey,
  readCertificateBundle,
  TlsFileError,
  type TlsFileProblem,
} from '../keys/tls-files.js';

export type ServerTlsConfig = NonNullable<Config['server']['tls']>;

/** What the public listener is created, and its secure context replaced, with. */
export interface ServerTlsMaterial {
  /** The secure context: certificate, key, client CAs, version floor, ciphers. */
  context: SecureContextOptions;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  /** Changes whenever the context would: a reload replaces the context only then. */
  fingerprint: string;
}

export class ServerTlsError extends TlsFileError {
  constructor(problems: TlsFileProblem[]) {
    super(problems);
    this.name = 'ServerTlsError';
  }
}

/** Reads and checks server.tls; undefined when the listener is plain HTTP. */
export async function loadServerTls(
  tls: ServerTlsConfig | undefined,
  configFile: string,
): Promise<ServerTlsMaterial | undefined> {
  if (tls === undefined) return undefined;
  const problems: TlsFileProblem[] = [];
  const pair = await readCertificateAndKey(configFile, ['server', 'tls'], tls, problems);
  const ca =
    tls.client_ca_file === undefined
      ? undefined
      : await readCertificateBundle(
          configFile,
          ['server', 'tls', 'client_ca_file'],
          tls.client_ca_file,
          problems,
        );
  if (tls.ciphers !== undefined) {
    try {
      createSecureContext({ ciphers: tls.ciphers });
    } catch {
      problems.push({
        path: ['server', 'tls', 'ciphers'],
        message: 'names no cipher this OpenSSL knows',
      });
    }
  }
  if (problems.length > 0 || pair === undefined) throw new ServerTlsError(problems);

  const context: SecureContextOptions = {
    cert: pair.cert,
    key: pair.key,
    minVersion: tls.min_version,
    ...(ca === undefined ? {} : { ca }),
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
  };
  const mode = clientCertificateMode(tls);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([pair.cert, pair.key, ca ?? [], tls.min_version, tls.ciphers ?? '']))
    .digest('hex');
  return {
    context,
    requestCert: mode !== 'off',
    rejectUnauthorized: mode === 'required',
    fingerprint,
  };
}
