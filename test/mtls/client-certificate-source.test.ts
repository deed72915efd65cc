/**
 * Where a request's client certificate comes from (proxy/http/client-certificate.ts), with real
 * TLS: scopegate's listener as `createPublicServer` builds it from `server.tls`, real client
 * certificates on real sockets, and the ingress headers from a trusted and an untrusted peer.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientCertificateSettings,
  presentedThumbprint,
  readClientCertificate,
  requiredClientCertificate,
} from '../../proxy/http/client-certificate.js';
import { TrustedProxies } from '../../proxy/http/trusted-proxies.js';
import { createPublicServer } from '../../proxy/server/public-server.js';
import { loadServerTls, type ServerTlsConfig } from '../../proxy/server/server-tls.js';
import { createMtlsPki, type KeyPair, type MtlsPki } from './mtls-pki.js';
import { minimalServerSettings } from './server-settings.js';

let pki: MtlsPki;

beforeAll(async () => {
  pki = await createMtlsPki();
});

afterAll(async () => {
  await pki?.remove();
});

interface Seen {
  via?: string;
  chained?: boolean;
  subject?: string;
  thumbprint?: string;
  unreadable?: string;
  ignoredHeader: boolean;
}

/** A listener that answers what the source saw for each request. */
async function listener(
  tls: Partial<ServerTlsConfig> | undefined,
  settings: ClientCertificateSettings,
  trusted: string[] = [],
): Promise<{ url: string; server: Server }> {
  const material =
    tls === undefined
      ? undefined
      : await loadServerTls(
          {
            cert_file: pki.server.certFile,
            key_file: pki.server.keyFile,
            min_version: 'TLSv1.2',
            ...tls,
          },
          path.join(pki.dir, 'scopegate.yaml'),
        );
  const server = createPublicServer(minimalServerSettings(), material);
  const proxies = new TrustedProxies(trusted);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const reading = readClientCertificate(req, proxies, settings);
    const seen: Seen = {
      via: reading.presented?.via,
      chained: reading.presented?.chainedToClientCa,
      subject: reading.presented?.certificate.subject,
      thumbprint: reading.presented ? presentedThumbprint(reading.presented) : undefined,
      unreadable: reading.unreadable,
      ignoredHeader: reading.ignoredHeader,
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${material === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, server };
}

/** One request on a new TLS connection, with `client` as the client certificate. */
function ask(url: string, client?: KeyPair, headers: Record<string, string> = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        ca: pki.ca,
        agent: false,
        headers,
        ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(JSON.parse(body) as Seen));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const thumbprintOf = (pair: KeyPair) =>
  createHash('sha256').update(pair.certificate.raw).digest('base64url');

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('a certificate on scopegate’s own TLS listener', () => {
  const withCa = (mode?: 'optional' | 'required') => ({
    client_ca_file: pki.caFile,
    ...(mode === undefined ? {} : { client_certificate: mode }),
  });

  it('optional (the default with a client CA): one the client CA issued is seen, chained', async () => {
    const { url, server } = await listener(withCa(), { tls: withCa() });
    try {
      const seen = await ask(url, pki.client);
      expect(seen).toMatchObject({ via: 'tls', chained: true, subject: 'CN=scopegate' });
      // x5t#S256: base64url SHA-256 of the DER (RFC 8705 §3.1).
      expect(seen.thumbprint).toBe(thumbprintOf(pki.client));
    } finally {
      await close(server);
    }
  });

  it('optional: self-signed and foreign certificates are seen, not chained; none is no certificate', async () => {
    const { url, server } = await listener(withCa('optional'), { tls: withCa('optional') });
    try {
      const selfSigned = await ask(url, pki.selfSigned);
      expect(selfSigned).toMatchObject({ via: 'tls', chained: false });
      expect(selfSigned.thumbprint).toBe(thumbprintOf(pki.selfSigned));
      const foreign = await ask(url, pki.foreign);
      expect(foreign).toMatchObject({ via: 'tls', chained: false, subject: 'CN=foreign client' });
      expect(await ask(url)).toEqual({ ignoredHeader: false });
    } finally {
      await close(server);
    }
  });

  it('optional without a client CA: nothing counts as chained, not even the CA-issued one', async () => {
    const tls = { client_certificate: 'optional' as const };
    const { url, server } = await listener(tls, { tls });
    try {
      expect(await ask(url, pki.client)).toMatchObject({ via: 'tls', chained: false });
    } finally {
      await close(server);
    }
  });

  it('required: the handshake needs a certificate the client CA issued', async () => {
    const { url, server } = await listener(withCa('required'), { tls: withCa('required') });
    try {
      expect(await ask(url, pki.client)).toMatchObject({ via: 'tls', chained: true });
      await expect(ask(url)).rejects.toThrow();
      await expect(ask(url, pki.selfSigned)).rejects.toThrow();
      await expect(ask(url, pki.foreign)).rejects.toThrow();
    } finally {
      await close(server);
    }
  });

  it('off (the default without a client CA): no certificate is asked for or seen', async () => {
    const { url, server } = await listener({}, { tls: {} });
    try {
      expect(await ask(url, pki.client)).toEqual({ ignoredHeader: false });
    } finally {
      await close(server);
    }
  });
});

const urlEncodedPem = (pair: KeyPair) => encodeURIComponent(pair.cert);
const xfccFor = (pair: KeyPair) =>
  `By=spiffe://cluster.local/ns/a/sa/ingress;Hash=abc;Cert="${urlEncodedPem(pair)}";Subject="CN=x,O=y"`;

describe('a certificate in an ingress header', () => {
  const envoy: ClientCertificateSettings = {
    client_certificate_header: {
      name: 'x-forwarded-client-cert',
      format: 'xfcc',
      verified: 'always',
      verified_header: 'ssl-client-verify',
    },
  };
  const nginx: ClientCertificateSettings = {
    client_certificate_header: {
      name: 'ssl-client-cert',
      format: 'pem-urlencoded',
      verified: 'header',
      verified_header: 'ssl-client-verify',
    },
  };

  it('from a trusted proxy: the last XFCC element’s certificate, chained as the ingress says', async () => {
    const { url, server } = await listener(undefined, envoy, ['127.0.0.1']);
    try {
      // The first element is whatever came before the ingress: never the one that counts.
      const header = `${xfccFor(pki.selfSigned)},${xfccFor(pki.client)}`;
      const seen = await fetchSeen(url, { 'x-forwarded-client-cert': header });
      expect(seen).toMatchObject({ via: 'header', chained: true, subject: 'CN=scopegate' });
      expect(seen.thumbprint).toBe(thumbprintOf(pki.client));
    } finally {
      await close(server);
    }
  });

  it('from a trusted proxy: ssl-client-cert, chained only when ssl-client-verify is SUCCESS', async () => {
    const { url, server } = await listener(undefined, nginx, ['127.0.0.0/8']);
    try {
      const cert = urlEncodedPem(pki.foreign);
      expect(
        await fetchSeen(url, { 'ssl-client-cert': cert, 'ssl-client-verify': 'SUCCESS' }),
      ).toMatchObject({ via: 'header', chained: true, thumbprint: thumbprintOf(pki.foreign) });
      for (const verify of [undefined, 'NONE', 'FAILED:unable to verify', 'success']) {
        const headers: Record<string, string> = { 'ssl-client-cert': cert };
        if (verify !== undefined) headers['ssl-client-verify'] = verify;
        expect(await fetchSeen(url, headers), String(verify)).toMatchObject({
          via: 'header',
          chained: false,
        });
      }
      expect(await fetchSeen(url, { 'ssl-client-cert': 'garbage' })).toEqual({
        unreadable: 'no PEM certificate',
        ignoredHeader: false,
      });
    } finally {
      await close(server);
    }
  });

  it('from a peer that is not a trusted proxy: ignored', async () => {
    for (const trusted of [[], ['10.0.0.0/8']]) {
      const { url, server } = await listener(undefined, envoy, trusted);
      try {
        const seen = await fetchSeen(url, { 'x-forwarded-client-cert': xfccFor(pki.client) });
        expect(seen, trusted.join()).toEqual({ ignoredHeader: true });
      } finally {
        await close(server);
      }
    }
  });

  it('over TLS from a trusted proxy, the header speaks for the client, not the proxy’s certificate', async () => {
    const tls = { client_ca_file: pki.caFile };
    const { url, server } = await listener(tls, { tls, ...envoy }, ['127.0.0.1']);
    try {
      // The proxy's own certificate on the connection is not the client's.
      expect(await ask(url, pki.client)).toEqual({ ignoredHeader: false });
      const header = { 'x-forwarded-client-cert': xfccFor(pki.selfSigned) };
      expect(await ask(url, pki.client, header)).toMatchObject({
        via: 'header',
        thumbprint: thumbprintOf(pki.selfSigned),
      });
    } finally {
      await close(server);
    }
  });

  it('over TLS from an untrusted peer, the connection’s certificate counts and the header is ignored', async () => {
    const tls = { client_ca_file: pki.caFile };
    const { url, server } = await listener(tls, { tls, ...envoy }, []);
    try {
      const header = { 'x-forwarded-client-cert': xfccFor(pki.selfSigned) };
      expect(await ask(url, pki.client, header)).toMatchObject({
        via: 'tls',
        chained: true,
        thumbprint: thumbprintOf(pki.client),
        ignoredHeader: true,
      });
    } finally {
      await close(server);
    }
  });
});

describe('a certificate Node verified against its default roots', () => {
  // Without client_ca_file Node verifies client certificates against the public roots. No test
  // certificate chains to those, so this one case uses a socket that says it verified one.
  it('is not counted as chained without a client_ca_file', () => {
    const socket = {
      encrypted: true,
      authorized: true,
      remoteAddress: '127.0.0.1',
      getPeerX509Certificate: () => pki.client.certificate,
    };
    const req = { socket, headersDistinct: {} } as unknown as IncomingMessage;
    const none = new TrustedProxies([]);
    const without = readClientCertificate(req, none, { tls: { client_certificate: 'optional' } });
    expect(without.presented).toMatchObject({ via: 'tls', chainedToClientCa: false });
    const withCa = readClientCertificate(req, none, { tls: { client_ca_file: 'ca.crt' } });
    expect(withCa.presented).toMatchObject({ via: 'tls', chainedToClientCa: true });
  });
});

describe('requiredClientCertificate', () => {
  it('is invalid_client (401) without a certificate, naming why', () => {
    const none = requiredClientCertificate({
      presented: undefined,
      unreadable: undefined,
      ignoredHeader: false,
    });
    expect(none).toMatchObject({ error: 'invalid_client', status: 401 });
    const broken = requiredClientCertificate({
      presented: undefined,
      unreadable: 'no PEM certificate',
      ignoredHeader: false,
    });
    expect(broken).toMatchObject({
      error: 'invalid_client',
      description: 'the client certificate could not be read: no PEM certificate',
    });
  });
});

async function fetchSeen(url: string, headers: Record<string, string>): Promise<Seen> {
  const response = await fetch(url, { headers });
  return (await response.json()) as Seen;
}
