/**
 * scopegate's own credentials at the upstream's introspection endpoint, resolved once per
 * configuration generation: a secret file that cannot be read fails the (re)load, not a request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IntrospectionConfig } from '../../config/schema.js';

export interface IntrospectionClient {
  endpoint: URL | undefined;
  clientId: string;
  secret: string;
  authMethod: IntrospectionConfig['auth_method'];
  jwtResponse: IntrospectionConfig['jwt_response'];
}

export class IntrospectionSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntrospectionSecretError';
  }
}

export async function loadIntrospectionClient(
  config: IntrospectionConfig | undefined,
  configFile: string,
): Promise<IntrospectionClient | undefined> {
  if (config === undefined) return undefined;
  let secret = config.client_secret;
  if (secret === undefined) {
    const file = path.resolve(path.dirname(configFile), config.client_secret_file as string);
    try {
      secret = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new IntrospectionSecretError(
        `upstream.introspection.client_secret_file: cannot read ${config.client_secret_file} (${code})`,
      );
    }
    if (secret === '') {
      throw new IntrospectionSecretError(
        `upstream.introspection.client_secret_file: ${config.client_secret_file} is empty`,
      );
    }
  }
  return {
    endpoint: config.endpoint === undefined ? undefined : new URL(config.endpoint),
    clientId: config.client_id,
    secret,
    authMethod: config.auth_method,
    jwtResponse: config.jwt_response,
  };
}
