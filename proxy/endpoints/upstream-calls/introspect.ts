/**
 * RFC 7662 introspection of an opaque upstream access token, authenticated with scopegate's own
 * client credentials. An answer in JWT form (RFC 9701) is verified with the upstream's keys,
 * issuer and `typ`, addressed to scopegate. The answer counts only when the token is active,
 * unexpired, from the upstream's issuer (when it says), and names the client that obtained it.
 */
import { errors, type JWTPayload, jwtVerify } from 'jose';
import { badUpstream, OAuthError, unavailable } from '../../http/oauth-error.js';
import {
  parseUntrustedJson,
  refusedJsonPhrase,
  UntrustedJsonRefused,
  withoutPrototypes,
} from '../../http/untrusted-json.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';
import {
  UpstreamFailure,
  type UpstreamResponse,
  upstreamRequest,
} from '../../upstream/http-client.js';
import type { IntrospectionClient } from '../../upstream/introspection-client.js';
import { UpstreamKeysUnavailable } from '../../upstream/upstream-keys.js';
import { UpstreamTokenRejected } from '../../upstream/verify-upstream.js';

const JWT_MEDIA_TYPE = 'application/token-introspection+jwt';
const ACCEPT: Record<IntrospectionClient['jwtResponse'], string> = {
  prefer: `${JWT_MEDIA_TYPE}, application/json;q=0.5`,
  require: JWT_MEDIA_TYPE,
  never: 'application/json',
};
/** Members that describe the introspection answer, not the token: never become claims. */
const ANSWER_ONLY = new Set(['active', 'token_type']);

type Members = Record<string, unknown>;

function isObject(value: unknown): value is Members {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function endpointOf(client: IntrospectionClient, runtime: Runtime): Promise<URL> {
  if (client.endpoint) return client.endpoint;
  let advertised: unknown;
  try {
    advertised = (await runtime.discovery.document()).introspection_endpoint;
  } catch {
    throw unavailable('the upstream discovery document is unavailable');
  }
  if (typeof advertised !== 'string' || !/^https?:\/\//.test(advertised)) {
    throw badUpstream('the upstream advertises no introspection endpoint');
  }
  return new URL(advertised);
}

/** RFC 6749 §2.3.1: each part is form-urlencoded before Basic encoding. */
function basicAuthorization(clientId: string, secret: string): string {
  const encode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

async function post(
  token: string,
  client: IntrospectionClient,
  runtime: Runtime,
  metrics?: Metrics,
): Promise<UpstreamResponse> {
  const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: ACCEPT[client.jwtResponse],
  };
  if (client.authMethod === 'client_secret_basic') {
    headers.authorization = basicAuthorization(client.clientId, client.secret);
  } else {
    form.set('client_id', client.clientId);
    form.set('client_secret', client.secret);
  }
  const body = form.toString();
  headers['content-length'] = String(Buffer.byteLength(body));
  try {
    return await upstreamRequest(
      {
        url: await endpointOf(client, runtime),
        method: 'POST',
        headers,
        body,
        timeoutMs: runtime.config.upstream.timeout,
        maxResponseBytes: 64 * 1024,
        route: 'introspection',
        agents: runtime.upstreamAgents,
      },
      metrics,
    );
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    if (error.kind === 'timeout') throw unavailable('the upstream introspection timed out', 504);
    if (error.kind === 'too_large') throw badUpstream('the introspection answer is too large');
    throw unavailable('the upstream introspection endpoint is unreachable', 502);
  }
}

async function verifySignedAnswer(
  jwt: string,
  client: IntrospectionClient,
  issuer: string,
  runtime: Runtime,
): Promise<Members> {
  try {
    const { payload } = await jwtVerify(jwt, runtime.upstreamKeys.resolve, {
      issuer,
      audience: client.clientId,
      typ: 'token-introspection+jwt',
      algorithms: [...runtime.config.upstream.algorithms],
      clockTolerance: Math.ceil(runtime.config.tokens.clock_tolerance / 1000),
    });
    const members = withoutPrototypes(payload).token_introspection;
    if (!isObject(members))
      throw new UpstreamTokenRejected('signed answer has no token_introspection');
    return members;
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof UntrustedJsonRefused) {
      throw new UpstreamTokenRejected(`signed introspection answer ${refusedJsonPhrase(error)}`);
    }
    if (error instanceof UpstreamKeysUnavailable) {
      throw unavailable('the upstream signing keys are unavailable');
    }
    if (error instanceof errors.JOSEError) {
      throw new UpstreamTokenRejected(`signed introspection answer: ${error.code}`);
    }
    throw badUpstream('the signed introspection answer could not be verified');
  }
}

async function readAnswer(
  response: UpstreamResponse,
  client: IntrospectionClient,
  issuer: string,
  runtime: Runtime,
): Promise<Members> {
  if (response.status !== 200) {
    throw badUpstream(`the upstream introspection endpoint answered ${response.status}`);
  }
  const mediaType = String(response.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  const text = response.body.toString('utf8');
  if (mediaType === JWT_MEDIA_TYPE) return verifySignedAnswer(text.trim(), client, issuer, runtime);
  if (client.jwtResponse === 'require') {
    throw badUpstream('the upstream introspection answer is not signed (jwt_response: require)');
  }
  let parsed: unknown;
  try {
    parsed = parseUntrustedJson(text);
  } catch (error) {
    throw badUpstream(`the upstream introspection answer ${refusedJsonPhrase(error)}`);
  }
  if (!isObject(parsed)) throw badUpstream('the upstream introspection answer is not an object');
  return parsed;
}

/** The checks of RFC 7662 §2.2 scopegate relies on, then the members as token claims. */
export function claimsFromAnswer(
  members: Members,
  issuer: string,
  nowSec: number,
  /** tokens.min_lifetime in seconds: as for a JWT, no token is issued that is born expiring. */
  minLifetimeSec: number,
): JWTPayload {
  if (members.active !== true) throw new UpstreamTokenRejected('introspection: token not active');
  if (typeof members.exp !== 'number' || !Number.isFinite(members.exp)) {
    throw new UpstreamTokenRejected('introspection: no exp');
  }
  // The same rule as for a verified JWT (verify-upstream.ts): the clock tolerance never
  // stretches the end of a token, and what is left must be at least the minimum lifetime.
  if (Math.floor(members.exp) - nowSec < Math.max(1, minLifetimeSec)) {
    throw new UpstreamTokenRejected('introspection: token expired or expires too soon');
  }
  if (members.iss !== undefined && members.iss !== issuer) {
    throw new UpstreamTokenRejected('introspection: unexpected issuer');
  }
  if (typeof members.client_id !== 'string' || members.client_id === '') {
    throw new UpstreamTokenRejected('introspection: no client_id');
  }
  const claims: JWTPayload = {};
  for (const [name, value] of Object.entries(members)) {
    if (!ANSWER_ONLY.has(name)) claims[name] = value;
  }
  return claims;
}

export async function introspectUpstreamToken(
  token: string,
  runtime: Runtime,
  metrics?: Metrics,
): Promise<JWTPayload> {
  const client = runtime.introspection;
  if (client === undefined) throw badUpstream('upstream.introspection is not configured');
  let issuer: string;
  try {
    issuer = await runtime.discovery.issuer();
  } catch {
    throw unavailable('the upstream issuer could not be resolved');
  }
  const response = await post(token, client, runtime, metrics);
  const members = await readAnswer(response, client, issuer, runtime);
  const minLifetime = Math.ceil(runtime.config.tokens.min_lifetime / 1000);
  return claimsFromAnswer(members, issuer, Math.floor(Date.now() / 1000), minLifetime);
}
