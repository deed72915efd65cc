/**
 * PEM files of a TLS setting (upstream.tls, server.tls): certificates, a private key, and the
 * check that the two belong together. Each problem names the setting's path and the file, never
 * the file's content, and every problem of a setting is reported at once.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface TlsFileProblem {
  /** Path of the setting in the configuration, such as ['upstream', 'tls', 'ca_file']. */
  path: string[];
  message: string;
}

/** Every problem of one TLS setting's files. */
export class TlsFileError extends Error {
  constructor(readonly problems: TlsFileProblem[]) {
    super(problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`).join('; '));
    this.name = 'TlsFileError';
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a text, each parsed (a text with none, or a broken one, is refused). */
export function certificatesOf(text: string): { pems: string[]; certificates: X509Certificate[] } {
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

/** Reads a file named by the setting at `at` (relative to the config file); a problem if not. */
export async function readTlsFile(
  configFile: string,
  at: string[],
  value: string,
  problems: TlsFileProblem[],
): Promise<string | undefined> {
  try {
    return await readFile(path.resolve(path.dirname(configFile), value), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push({ path: at, message: `cannot read ${value} (${code})` });
    return undefined;
  }
}

/** A CA bundle: the PEM certificates of `file`, or a problem at `at`. */
export async function readCertificateBundle(
  configFile: string,
  at: string[],
  file: string,
  problems: TlsFileProblem[],
): Promise<string[] | undefined> {
  const text = await readTlsFile(configFile, at, file, problems);
  if (text === undefined) return undefined;
  try {
    return certificatesOf(text).pems;
  } catch (error) {
    problems.push({ path: at, message: `${file} ${(error as Error).message}` });
    return undefined;
  }
}

/**
 * A certificate (chain, leaf first) and its unencrypted private key, as PEM texts; undefined
 * with problems pushed when either is unreadable or the key is not the leaf's.
 */
export async function readCertificateAndKey(
  configFile: string,
  holder: string[],
  files: { cert_file: string; key_file: string },
  problems: TlsFileProblem[],
): Promise<{ cert: string; key: string } | undefined> {
  const certAt = [...holder, 'cert_file'];
  const keyAt = [...holder, 'key_file'];
  const certText = await readTlsFile(configFile, certAt, files.cert_file, problems);
  const keyText = await readTlsFile(configFile, keyAt, files.key_file, problems);
  let leaf: X509Certificate | undefined;
  let key: KeyObject | undefined;
  if (certText !== undefined) {
    try {
      leaf = certificatesOf(certText).certificates[0];
    } catch (error) {
      problems.push({ path: certAt, message: `${files.cert_file} ${(error as Error).message}` });
    }
  }
  if (keyText !== undefined) {
    try {
      key = createPrivateKey(keyText);
    } catch {
      problems.push({
        path: keyAt,
        message: `${files.key_file} holds no readable (unencrypted PEM) private key`,
      });
    }
  }
  if (leaf === undefined || key === undefined) return undefined;
  if (!leaf.checkPrivateKey(key)) {
    problems.push({
      path: keyAt,
      message: `${files.key_file} is not the private key of ${files.cert_file}`,
    });
    return undefined;
  }
  return { cert: certText as string, key: keyText as string };
}
