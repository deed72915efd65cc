/**
 * node-oidc-provider set up for browser logins, for the OIDC flows through scopegate:
 * authorization code + PKCE with a confidential client, refresh tokens, introspection,
 * revocation, RP-initiated logout, pushed authorization requests, and client credentials.
 * Access tokens are RFC 9068 JWTs for one resource server (as scopegate requires).
 *
 * Login is headless: the interaction URL is served by this fixture, which logs the browser in as
 * the configured account at once; consent is implied (every requested scope is granted).
 * Real HTTP on port 0, real signatures, the provider's own validation of everything.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { Configuration } from 'oidc-provider';

/** The parts of oidc-provider's request context and API this fixture uses beyond the shared declarations. */
interface LoginContext {
  body: unknown;
  oidc: {
    client?: { clientId: string };
    session?: { accountId?: string };
    params?: Record<string, unknown>;
    provider: {
      Grant: new (init: {
        clientId: string;
        accountId: string;
      }) => {
        addOIDCScope(scope: string): void;
        addResourceScope(resource: string, scope: string): void;
        save(): Promise<string>;
      };
    };
  };
}

interface Interactions {
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
  ): Promise<void>;
}

export const LOGIN_RESOURCE = 'https://api.example.com';
export const LOGIN_SCOPES = 'api:read api:write api:admin';
export const ACCOUNT = { sub: 'alice', email: 'alice@example.com', name: 'Alice Example' };

export interface LoginClient {
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  post_logout_redirect_uri: string;
}

export const WEB_CLIENT: LoginClient = {
  client_id: 'web',
  client_secret: 'web-secret-0123456789',
  redirect_uri: 'https://app.example.com/callback',
  post_logout_redirect_uri: 'https://app.example.com/bye',
};

export const M2M_CLIENT = { client_id: 'm2m', client_secret: 'm2m-secret-0123456789' };

export interface LoginUpstream {
  url: string;
  issuer: string;
  tokenPath: string;
  /** Every request received, as `METHOD target`, oldest first. */
  requests: string[];
  close(): Promise<void>;
}

export interface LoginUpstreamOptions {
  /**
   * Logins without a `resource` get the provider's userinfo tokens (opaque, no audience, the
   * OIDC scopes: what its userinfo endpoint accepts) instead of JWTs for LOGIN_RESOURCE. A
   * gateway in front introspects them (upstream.token_format auto). Client credentials with
   * `resource` still get JWTs.
   */
  userinfoTokens?: boolean;
}

export async function startLoginUpstream(
  options: LoginUpstreamOptions = {},
): Promise<LoginUpstream> {
  const { default: Provider } = await import('oidc-provider');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `login-${randomBytes(6).toString('base64url')}`,
    alg: 'RS256',
    use: 'sig',
  };

  const configuration: Configuration = {
    clients: [
      {
        client_id: WEB_CLIENT.client_id,
        client_secret: WEB_CLIENT.client_secret,
        redirect_uris: [WEB_CLIENT.redirect_uri],
        post_logout_redirect_uris: [WEB_CLIENT.post_logout_redirect_uri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: `openid email profile offline_access ${LOGIN_SCOPES}`,
      },
      {
        client_id: M2M_CLIENT.client_id,
        client_secret: M2M_CLIENT.client_secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: LOGIN_SCOPES,
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'email', 'profile', 'offline_access', ...LOGIN_SCOPES.split(' ')],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ ...ACCOUNT, sub: id }),
    }),
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    // Consent is implied: the grant holds every scope the request asked for.
    loadExistingGrant: async (ctx: LoginContext) => {
      const { client, session, params } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: client.clientId,
        accountId: session.accountId,
      });
      const requested = String(params?.scope ?? '').split(' ');
      // Without a resource parameter the provider checks resource scopes as OIDC scopes too.
      grant.addOIDCScope(requested.join(' '));
      grant.addResourceScope(LOGIN_RESOURCE, LOGIN_SCOPES);
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(grant: string): boolean },
    ) => client.grantTypeAllowed('refresh_token'),
    pkce: { required: () => true },
    clientBasedCORS: () => true,
    conformIdTokenClaims: false,
    // Set so the provider does not print a notice for each default it would otherwise use.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
    renderError: async (ctx: LoginContext, out: Record<string, unknown>) => {
      ctx.body = out;
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Any authenticated client may introspect (the default policy logs a notice).
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: logoutForm },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          options.userinfoTokens ? oneOf : LOGIN_RESOURCE,
        useGrantedResource: () => options.userinfoTokens !== true,
        getResourceServerInfo: () => ({
          scope: LOGIN_SCOPES,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  const requests: string[] = [];
  server.on('request', (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (!req.url?.startsWith('/interaction/')) {
      callback(req, res);
      return;
    }
    const interactions = provider as unknown as Interactions;
    interactions
      .interactionFinished(req, res, { login: { accountId: ACCOUNT.sub } })
      .catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
  });
  return {
    url: issuer,
    issuer,
    tokenPath: provider.pathFor('token'),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The logout confirmation page, submitted at once (the browser's "yes, log me out"). */
async function logoutForm(ctx: LoginContext, form: string): Promise<void> {
  ctx.body = `<!DOCTYPE html><html><body>${form}<script>document.forms[0].submit()</script></body></html>`;
}
