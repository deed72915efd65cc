/**
 * The certificates the mutual TLS tests use, made for one test run with the openssl CLI
 * (test/support/private-ca.ts): the client CA (which also issues the listener's certificates),
 * a second listener certificate for rotation, a client certificate it issued, one another CA
 * issued, and a self-signed one (RFC 8705 §2.2).
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createCertificateAuthority,
  createPrivateCa,
  createSelfSigned,
  issueCertificate,
} from '../support/private-ca.js';

export interface KeyPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  certificate: X509Certificate;
}

export interface MtlsPki {
  dir: string;
  /** The CA of client_ca_file, and the issuer of the listener's certificates. */
  caFile: string;
  ca: string;
  server: KeyPair;
  /** Another certificate for the listener (CN rotated.test), to replace `server` with. */
  rotated: KeyPair;
  /** Issued by the client CA. */
  client: KeyPair;
  /** Issued by a CA scopegate does not trust for clients. */
  foreign: KeyPair;
  /** Self-signed. */
  selfSigned: KeyPair;
  remove(): Promise<void>;
}

export async function pair(files: { cert: string; key: string }): Promise<KeyPair> {
  const cert = await readFile(files.cert, 'utf8');
  return {
    certFile: files.cert,
    keyFile: files.key,
    cert,
    key: await readFile(files.key, 'utf8'),
    certificate: new X509Certificate(cert),
  };
}

const SERVER_EXTENSIONS = 'subjectAltName=IP:127.0.0.1,DNS:idp.test\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXTENSIONS = 'extendedKeyUsage=clientAuth\n';

export async function createMtlsPki(): Promise<MtlsPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-mtls-'));
  const ca = await createPrivateCa(dir);
  await createCertificateAuthority(dir, 'other-ca', '/CN=another CA');
  return {
    dir,
    caFile: ca.caFile,
    ca: ca.ca,
    server: await pair({ cert: ca.serverCertFile, key: ca.serverKeyFile }),
    rotated: await pair(
      await issueCertificate(dir, 'rotated', '/CN=rotated.test', SERVER_EXTENSIONS),
    ),
    client: await pair({ cert: ca.clientCertFile, key: ca.clientKeyFile }),
    foreign: await pair(
      await issueCertificate(dir, 'foreign', '/CN=foreign client', CLIENT_EXTENSIONS, 'other-ca'),
    ),
    selfSigned: await pair(
      await createSelfSigned(dir, 'self-signed', '/CN=self-signed client', [
        'basicConstraints=critical,CA:FALSE',
        'extendedKeyUsage=clientAuth',
      ]),
    ),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
