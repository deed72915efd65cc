/**
 * openid-client configured the way a new user would: discovery of scopegate's issuer (plain HTTP
 * on loopback allowed), the client authenticating with its secret in HTTP Basic.
 */
import * as client from 'openid-client';

export function discoverClient(
  issuer: string,
  registered: { client_id: string; client_secret: string },
): Promise<client.Configuration> {
  return client.discovery(
    new URL(issuer),
    registered.client_id,
    undefined,
    client.ClientSecretBasic(registered.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
}
