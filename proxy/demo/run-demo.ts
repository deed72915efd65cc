/**
 * `scopegate demo` (`npm start`): the embedded Auth0-like demo upstream, a throw-away signing key, and
 * scopegate on config/demo.yaml, with the curl commands to try printed on start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generatePrivateKeyPem } from '../keys/key-material.js';
import { packageRoot } from '../observability/package-root.js';
import { startScopegate } from '../server/instance.js';
import { DEMO_AUDIENCES, DEMO_CLIENTS, DEMO_DEFAULT_AUDIENCE } from './demo-clients.js';
import { startDemoUpstream } from './demo-upstream.js';

export function demoInstructions(publicUrl: string, adminUrl: string | undefined): string {
  const token = `${publicUrl}/oauth/token`;
  return `
scopegate demo is running.
  gateway   ${publicUrl}   (token endpoint, JWKS, discovery; everything else is proxied)
  admin     ${adminUrl ?? '(disabled)'}   (/metrics, /healthz, /readyz)

1. Ask for one scope; the upstream grants all four, scopegate issues only the one asked for:
   curl -s ${token} -d grant_type=client_credentials -d client_id=m2m-reporting \\
     -d client_secret=demo-secret-reporting -d audience=${DEMO_AUDIENCES.api} -d scope=read:claims

2. Ask for nothing: every granted scope (Auth0's documented behaviour):
   curl -s ${token} -u m2m-reporting:demo-secret-reporting \\
     -d grant_type=client_credentials -d audience=${DEMO_AUDIENCES.api}

3. Ask for a scope the client does not hold: 400 invalid_scope:
   curl -s ${token} -H 'content-type: application/json' -d '{"grant_type":"client_credentials",
     "client_id":"m2m-reporting","client_secret":"demo-secret-reporting","scope":"admin:all"}'

4. The partner whose token carries "scope" as a JSON array:
   curl -s ${token} -d grant_type=client_credentials -d client_id=partner-x \\
     -d client_secret=demo-secret-partner -d audience=${DEMO_AUDIENCES.partnerApi} \\
     -d scope='read:appointments read:prescriptions'

5. A dynamic scope: accounts-service holds accounts.* and asks for one account:
   curl -s ${token} -d grant_type=client_credentials -d client_id=accounts-service \\
     -d client_secret=demo-secret-accounts -d scope=accounts.read.1234

Decode a token's claims:  ... | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(Buffer.from(JSON.parse(s).access_token.split('.')[1],'base64url'))))"
Verify keys:  curl -s ${publicUrl}/.well-known/jwks.json
Discovery:    curl -s ${publicUrl}/.well-known/openid-configuration
Metrics:      curl -s ${adminUrl ?? '(admin disabled)'}/metrics | grep scopegate_token

Ctrl-C stops the demo.
`;
}

export async function runDemo(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const upstream = await startDemoUpstream({
    clients: DEMO_CLIENTS,
    defaultAudience: DEMO_DEFAULT_AUDIENCE,
  });
  // The demo key is throw-away: generated per run, in a private temp directory.
  const keyDir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-demo-'));
  const keyFile = path.join(keyDir, 'demo-es256.pem');
  await writeFile(keyFile, generatePrivateKeyPem('ES256'), { mode: 0o600 });
  const cleanup = () => rm(keyDir, { recursive: true, force: true });
  process.once('exit', () => void cleanup());
  try {
    const instance = await startScopegate({
      configFile: path.join(packageRoot(), 'config', 'demo.yaml'),
      env: { ...env, SCOPEGATE_DEMO_UPSTREAM: upstream.url, SCOPEGATE_DEMO_KEY_FILE: keyFile },
      handleSignals: true,
    });
    process.stdout.write(demoInstructions(instance.publicUrl, instance.adminUrl));
  } catch (error) {
    await upstream.close();
    await cleanup();
    throw error;
  }
}
