/**
 * A private certificate authority made for one test run with the openssl CLI: a CA, a server
 * certificate for 127.0.0.1 and `idp.test` (not `localhost`: a
 * client that checks the wrong name must fail), and a client certificate for mutual TLS, each in
 * its own PEM file. No key material is committed.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PrivateCa {
  /** The CA certificate (what upstream.tls.ca_file names). */
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM texts, for an https server's options. */
  ca: string;
  serverCert: string;
  serverKey: string;
}

/** A certificate for `subject` issued by the CA `ca` (`<ca>.crt`, `<ca>.key` in `dir`). */
export async function issueCertificate(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca = 'ca',
): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    path.join(dir, `${ca}.crt`),
    '-CAkey',
    path.join(dir, `${ca}.key`),
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/**
 * A self-signed certificate (`<name>.crt`, `<name>.key`): a CA when `extensions` say so, or a
 * client's own certificate (RFC 8705 §2.2).
 */
export async function createSelfSigned(
  dir: string,
  name: string,
  subject: string,
  extensions: readonly string[],
): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-subj',
    subject,
    '-days',
    '2',
    '-sha256',
    ...extensions.flatMap((extension) => ['-addext', extension]),
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A certificate authority `<name>.crt`, `<name>.key` in `dir`. */
export function createCertificateAuthority(dir: string, name: string, subject: string) {
  return createSelfSigned(dir, name, subject, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

export async function createPrivateCa(dir: string): Promise<PrivateCa> {
  const { cert: caFile } = await createCertificateAuthority(dir, 'ca', '/CN=scopegate test CA');
  const server = await issueCertificate(
    dir,
    'server',
    '/CN=idp.test',
    'subjectAltName=IP:127.0.0.1,DNS:idp.test\nextendedKeyUsage=serverAuth\n',
  );
  const client = await issueCertificate(
    dir,
    'client',
    '/CN=scopegate',
    'extendedKeyUsage=clientAuth\n',
  );
  return {
    caFile,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    ca: await readFile(caFile, 'utf8'),
    serverCert: await readFile(server.cert, 'utf8'),
    serverKey: await readFile(server.key, 'utf8'),
  };
}
