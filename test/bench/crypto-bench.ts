/**
 * The crypto limit: what one core can do for the token path's cryptography alone, per algorithm,
 * with node:crypto (the gateway's signer, proxy/keys/jwt-signer.ts) and with jose (SignJWT and
 * jwtVerify over WebCrypto). "verify+sign" verifies an upstream token of the same algorithm and
 * signs a new one: the least work a re-issue can do. Run pinned (the benchmark starts it with
 * taskset); prints one JSON line of figures.
 */
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify,
} from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { createJwtSigner } from '../../proxy/keys/jwt-signer.js';
import {
  generatePrivateKeyPem,
  parsePrivateKey,
  type SigningAlgorithm,
} from '../../proxy/keys/key-material.js';

export interface CryptoFigure {
  name: string;
  /** Operations per CPU-second: median of the repetitions, and their spread. */
  opsPerSec: number;
  min: number;
  max: number;
}

interface Variant {
  label: string;
  alg: SigningAlgorithm;
  /** RSA modulus; other algorithms ignore it. */
  bits?: number;
}

const VARIANTS: Variant[] = [
  { label: 'ES256', alg: 'ES256' },
  { label: 'EdDSA', alg: 'EdDSA' },
  { label: 'RS256-2048', alg: 'RS256', bits: 2048 },
  { label: 'RS256-3072', alg: 'RS256', bits: 3072 },
  { label: 'PS256-2048', alg: 'PS256', bits: 2048 },
];

const CLAIMS = {
  iss: 'https://gateway.example.com',
  sub: 'bench-m2m@clients',
  aud: 'https://bench-api.example.com',
  client_id: 'bench-m2m',
  scope: 'read:claims accounts.read.1234',
  iat: 1_800_000_000,
  exp: 4_000_000_000,
  jti: '6f1c4f0e-8d7a-4a59-9d55-2b1f3c6b7a10',
};

function keyFor(variant: Variant): KeyObject {
  // keygen writes 3072-bit RSA keys; 2048 is generated here for the comparison rows.
  if (variant.bits === 2048) return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return parsePrivateKey(generatePrivateKeyPem(variant.alg));
}

/** CPU seconds this process has used, every thread included (WebCrypto runs on the pool). */
function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * Operations per CPU-second: what one core does when nothing else competes for it. Wall-clock
 * rates on a shared machine measure the scheduler instead (and favour work done on the thread
 * pool, which gets a scheduler share of its own).
 */
async function rate(run: () => unknown | Promise<unknown>, seconds: number): Promise<number> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const cpuBefore = cpuNow();
  let count = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let index = 0; index < 20; index++) await run();
    count += 20;
  }
  return count / Math.max(cpuNow() - cpuBefore, 1e-6);
}

async function measure(
  name: string,
  run: () => unknown | Promise<unknown>,
  seconds: number,
  repetitions: number,
): Promise<CryptoFigure> {
  await rate(run, Math.min(0.2, seconds));
  const rates: number[] = [];
  for (let index = 0; index < repetitions; index++) rates.push(await rate(run, seconds));
  rates.sort((a, b) => a - b);
  return {
    name,
    opsPerSec: rates[Math.floor(rates.length / 2)] as number,
    min: rates[0] as number,
    max: rates[rates.length - 1] as number,
  };
}

/** node:crypto verification of a compact JWS, as a gateway without jose would do it. */
function nodeVerifier(alg: SigningAlgorithm, key: KeyObject): (token: string) => boolean {
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options = alg.startsWith('ES')
    ? { key, dsaEncoding: 'ieee-p1363' as const }
    : alg.startsWith('PS')
      ? {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        }
      : key;
  return (token) => {
    const dot = token.lastIndexOf('.');
    const ok = verify(
      digest,
      Buffer.from(token.slice(0, dot)),
      options,
      Buffer.from(token.slice(dot + 1), 'base64url'),
    );
    if (ok)
      JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
    return ok;
  };
}

export async function runCryptoBench(
  seconds: number,
  repetitions: number,
): Promise<CryptoFigure[]> {
  const figures: CryptoFigure[] = [];
  for (const variant of VARIANTS) {
    const privateKey = keyFor(variant);
    const publicKey = createPublicKey(privateKey);
    const signer = createJwtSigner(variant.alg, 'bench', privateKey);
    const upstreamToken = signer.sign(CLAIMS);
    const joseSign = () =>
      new SignJWT(CLAIMS)
        .setProtectedHeader({ alg: variant.alg, kid: 'bench', typ: 'at+jwt' })
        .sign(privateKey);
    const nodeVerify = nodeVerifier(variant.alg, publicKey);
    const options = { algorithms: [variant.alg] };
    figures.push(
      await measure(
        `${variant.label} sign, node:crypto`,
        () => signer.sign(CLAIMS),
        seconds,
        repetitions,
      ),
      await measure(`${variant.label} sign, jose`, joseSign, seconds, repetitions),
      await measure(
        `${variant.label} verify+sign, node:crypto`,
        () => {
          if (!nodeVerify(upstreamToken)) throw new Error('verify failed');
          return signer.sign(CLAIMS);
        },
        seconds,
        repetitions,
      ),
      await measure(
        `${variant.label} verify+sign, jose`,
        async () => {
          await jwtVerify(upstreamToken, publicKey, options);
          return joseSign();
        },
        seconds,
        repetitions,
      ),
    );
  }
  return figures;
}

if (process.argv[1]?.endsWith('crypto-bench.js')) {
  const seconds = Number(process.argv[2] ?? 0.5);
  const repetitions = Number(process.argv[3] ?? 3);
  process.stdout.write(`${JSON.stringify(await runCryptoBench(seconds, repetitions))}\n`);
}
