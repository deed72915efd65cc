/**
 * upstream.tls: the private CA, client certificate and server name scopegate uses towards the
 * upstream, read once per configuration generation. A file that cannot be used fails the (re)load
 * and `check` names it, instead of every upstream call failing later with a handshake error.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import type { Config } from '../../config/schema.js';

export type UpstreamTlsConfig = NonNullable<Config['upstream']['tls']>;

/** What the upstream connections are opened with (node:tls options). */
export interface UpstreamTlsMaterial {
  /** Trusted roots; undefined: Node's defaults. */
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
}

export interface UpstreamTlsProblem {
  /** Path of the setting in the configuration, such as ['upstream', 'tls', 'ca_file']. */
  path: string[];
  message: string;
}

export class UpstreamTlsError extends Error {
  constructor(readonly problems: UpstreamTlsProblem[]) {
    super(problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`).join('; '));
    this.name = 'UpstreamTlsError';
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a file, each parsed (a file with none, or a broken one, is refused). */
function certificatesOf(text: string): { pems: string[]; certificates: X509Certificate[] } {
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new Error('holds no PEM certificate');
  const certificates = pems.map((pem, index) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new Error(`certificate ${index + 1} is not a valid X.509 certificate`);
    }
  });
  return { pems, certificates };
}

async function readSetting(
  configFile: string,
  name: string,
  value: string,
  problems: UpstreamTlsProblem[],
): Promise<string | undefined> {
  try {
    return await readFile(path.resolve(path.dirname(configFile), value), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push({ path: ['upstream', 'tls', name], message: `cannot read ${value} (${code})` });
    return undefined;
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
  const at = (name: string) => ['upstream', 'tls', name];

  if (tls.ca_file !== undefined) {
    const text = await readSetting(configFile, 'ca_file', tls.ca_file, problems);
    if (text !== undefined) {
      try {
        const { pems } = certificatesOf(text);
        // Node's `ca` option replaces the default roots: "add" passes them along explicitly.
        material.ca = tls.ca_mode === 'replace' ? pems : [...rootCertificates, ...pems];
      } catch (error) {
        problems.push({
          path: at('ca_file'),
          message: `${tls.ca_file} ${(error as Error).message}`,
        });
      }
    }
  }

  if (tls.cert_file !== undefined && tls.key_file !== undefined) {
    const certText = await readSetting(configFile, 'cert_file', tls.cert_file, problems);
    const keyText = await readSetting(configFile, 'key_file', tls.key_file, problems);
    let leaf: X509Certificate | undefined;
    let key: KeyObject | undefined;
    if (certText !== undefined) {
      try {
        leaf = certificatesOf(certText).certificates[0];
        material.cert = certText;
      } catch (error) {
        problems.push({
          path: at('cert_file'),
          message: `${tls.cert_file} ${(error as Error).message}`,
        });
      }
    }
    if (keyText !== undefined) {
      try {
        key = createPrivateKey(keyText);
        material.key = keyText;
      } catch {
        problems.push({
          path: at('key_file'),
          message: `${tls.key_file} holds no readable (unencrypted PEM) private key`,
        });
      }
    }
    if (leaf !== undefined && key !== undefined && !leaf.checkPrivateKey(key)) {
      problems.push({
        path: at('key_file'),
        message: `${tls.key_file} is not the private key of ${tls.cert_file}`,
      });
    }
  }

  if (tls.server_name !== undefined) material.servername = tls.server_name;
  if (problems.length > 0) throw new UpstreamTlsError(problems);
  return material;
}
