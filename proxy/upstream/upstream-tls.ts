/**
 * upstream.tls: the private CA, client certificate and server name scopegate uses towards the
 * upstream, read once per configuration generation. A file that cannot be used fails the (re)load
 * and `check` names it, instead of every upstream call failing later with a handshake error.
 */
import { rootCertificates } from 'node:tls';
import type { Config } from '../../config/schema.js';
import {
  readCertificateAndKey,
  readCertificateBundle,
  TlsFileError,
  type TlsFileProblem,
} from '../keys/tls-files.js';

export type UpstreamTlsConfig = NonNullable<Config['upstream']['tls']>;

/** What the upstream connections are opened with (node:tls options). */
export interface UpstreamTlsMaterial {
  /** Trusted roots; undefined: Node's defaults. */
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
}

export type UpstreamTlsProblem = TlsFileProblem;

export class UpstreamTlsError extends TlsFileError {
  constructor(problems: UpstreamTlsProblem[]) {
    super(problems);
    this.name = 'UpstreamTlsError';
  }
}

/** Reads and checks upstream.tls; every problem at once in UpstreamTlsError. */
export async function loadUpstreamTls(
  tls: UpstreamTlsConfig | undefined,
  configFile: string,
): Promise<UpstreamTlsMaterial> {
  if (tls === undefined) return {};
  const problems: UpstreamTlsProblem[] = [];
  const material: UpstreamTlsMaterial = {};

  if (tls.ca_file !== undefined) {
    const at = ['upstream', 'tls', 'ca_file'];
    const pems = await readCertificateBundle(configFile, at, tls.ca_file, problems);
    // Node's `ca` option replaces the default roots: "add" passes them along explicitly.
    if (pems !== undefined) {
      material.ca = tls.ca_mode === 'replace' ? pems : [...rootCertificates, ...pems];
    }
  }

  if (tls.cert_file !== undefined && tls.key_file !== undefined) {
    const files = { cert_file: tls.cert_file, key_file: tls.key_file };
    const pair = await readCertificateAndKey(configFile, ['upstream', 'tls'], files, problems);
    if (pair !== undefined) Object.assign(material, pair);
  }

  if (tls.server_name !== undefined) material.servername = tls.server_name;
  if (problems.length > 0) throw new UpstreamTlsError(problems);
  return material;
}
