/**
 * Test harness: a real scopegate instance on port 0 with a config file and keys written to a
 * temporary directory, and its log lines captured for assertions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { generatePrivateKeyPem, type SigningAlgorithm } from '../../proxy/keys/key-material.js';
import { createLogger } from '../../proxy/observability/log.js';
import { type ScopegateInstance, startScopegate } from '../../proxy/server/instance.js';

export interface TestKey {
  kid: string;
  alg?: SigningAlgorithm;
  status?: 'next' | 'active' | 'retired';
  publish_until?: string;
}

export interface TestGatewayOptions {
  upstreamUrl: string;
  tokenPath?: string;
  scopeRequest?: 'forward' | 'omit' | 'templates';
  keys?: TestKey[];
  admin?: boolean;
  /** Merged over the generated config (top-level keys replace, objects merge one level). */
  config?: Record<string, unknown>;
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestGateway {
  instance: ScopegateInstance;
  url: string;
  adminUrl: string | undefined;
  dir: string;
  configFile: string;
  logs: LogCapture;
  config: Record<string, unknown>;
  /** Writes (and keeps) a PEM for `kid`, returning its file name relative to the config. */
  addKey(key: TestKey): Promise<string>;
  writeConfig(config: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current
        ? { ...(current as Record<string, unknown>), ...(value as Record<string, unknown>) }
        : value;
  }
  return out;
}

export interface TestConfig {
  dir: string;
  configFile: string;
  config: Record<string, unknown>;
  addKey(key: TestKey): Promise<string>;
  writeConfig(config: Record<string, unknown>): Promise<void>;
  /** Removes the directory with the config and keys. */
  remove(): Promise<void>;
}

/**
 * Writes a config file and its keys into a new temporary directory, without starting anything
 * (for the spawned CLI, or for starting instances by hand).
 */
export async function prepareTestConfig(options: TestGatewayOptions): Promise<TestConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-test-'));
  const configFile = path.join(dir, 'scopegate.yaml');
  const addKey = async (key: TestKey) => {
    const file = `${key.kid}.pem`;
    await writeFile(path.join(dir, file), generatePrivateKeyPem(key.alg ?? 'ES256'), {
      mode: 0o600,
    });
    return file;
  };
  const keys = options.keys ?? [{ kid: 'test-key', alg: 'ES256', status: 'active' }];
  const keyConfigs = [];
  for (const key of keys) {
    keyConfigs.push({
      kid: key.kid,
      alg: key.alg ?? 'ES256',
      private_key_file: await addKey(key),
      status: key.status ?? 'active',
      ...(key.publish_until ? { publish_until: key.publish_until } : {}),
    });
  }
  const base: Record<string, unknown> = {
    listen: '127.0.0.1:0',
    ...(options.admin === false ? {} : { admin_listen: '127.0.0.1:0' }),
    issuer: 'https://gateway.test',
    upstream: {
      url: options.upstreamUrl,
      token_path: options.tokenPath ?? '/oauth/token',
      scope_request: options.scopeRequest ?? 'forward',
      timeout: '2s',
    },
    signing: { keys: keyConfigs },
    server: { watch_config: false, shutdown_grace: '5s' },
  };
  const config = merge(base, options.config ?? {});
  const writeConfig = (next: Record<string, unknown>) => writeFile(configFile, stringify(next));
  await writeConfig(config);
  return {
    dir,
    configFile,
    config,
    addKey,
    writeConfig,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const prepared = await prepareTestConfig(options);
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', format: 'json', destination: logs });
  const instance = await startScopegate({ configFile: prepared.configFile, logger, env: {} });
  return {
    instance,
    url: instance.publicUrl,
    adminUrl: instance.adminUrl,
    dir: prepared.dir,
    configFile: prepared.configFile,
    logs,
    config: prepared.config,
    addKey: prepared.addKey,
    writeConfig: prepared.writeConfig,
    async close() {
      await instance.shutdown();
      await prepared.remove();
    },
  };
}

/** POSTs a form-encoded token request. */
export function postForm(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  /** The issued access token's payload, when there is one. */
  claims?: Record<string, unknown>;
}

/** Reads a token endpoint answer and decodes the access token it carries, if any. */
export async function readTokenAnswer(response: Response): Promise<TokenAnswer> {
  const body = (await response.json()) as Record<string, unknown>;
  const access = body.access_token;
  return {
    status: response.status,
    body,
    ...(typeof access === 'string' ? { claims: jwtPayload(access) } : {}),
  };
}

/** Decodes a JWT's payload without verifying it (assertions only). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function jwtHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
