/**
 * A scopegate whose issuer is its own listening URL (optionally with a path), so clients and
 * resource servers can find everything through discovery, as in production. The port is only
 * known once it listens: the instance starts with a placeholder issuer and is reloaded with the
 * real one.
 */
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../support/gateway.js';

export interface SelfIssuedGateway extends TestGateway {
  issuer: string;
}

export async function startSelfIssuedGateway(
  options: TestGatewayOptions,
  issuerPath = '',
): Promise<SelfIssuedGateway> {
  const gateway = await startTestGateway(options);
  const issuer = `${gateway.url}${issuerPath}`;
  await gateway.writeConfig({ ...gateway.config, issuer });
  if (!(await gateway.instance.reload())) {
    await gateway.close();
    throw new Error(`the gateway did not accept issuer ${issuer}`);
  }
  return Object.assign(gateway, { issuer });
}
