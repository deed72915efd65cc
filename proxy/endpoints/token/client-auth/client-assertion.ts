/**
 * A JWT client assertion checked by scopegate (RFC 7523 §3, RFC 7521 §4.2, OpenID Connect Core
 * §9, FAPI 2.0 Security Profile §5.3.2.1):
 *
 * - `client_assertion_type` is jwt-bearer; the signature verifies with the client's keys
 *   (private_key_jwt: asymmetric algorithms only) or its secret (client_secret_jwt: HS* only);
 * - `iss` and `sub` are the client's id;
 * - every `aud` value is scopegate's issuer or its token endpoint URL, and one of them is there:
 *   FAPI 2.0 says the issuer should be accepted, RFC 7523 names the token endpoint; anything else
 *   (another server's URL, a path of scopegate's) is refused, so an assertion meant for another
 *   server is never good here;
 * - `exp` is required, in the future, and at most `client_auth.assertion_max_lifetime` away from
 *   now and from `iat`; `iat` and `nbf`, when present, are not in the future (both within
 *   `tokens.clock_tolerance`);
 * - `jti` is required and used once: it is remembered per client until the assertion expires
 *   (runtime/replay-guard.ts, shared by replicas with Redis).
 *
 * Every refusal is 401 invalid_client, with a description saying which check failed.
 */
import type { ClientRuleConfig } from '../../../../config/schema.js';
import { ClientAuthenticationFailed, unavailable } from '../../../http/oauth-error.js';
import { JwsRefused, type VerifiedJws } from '../../../keys/jws-verifier.js';
import {
  ASSERTION_ALGORITHMS,
  JWT_BEARER_ASSERTION_TYPE,
  type JwtClientAuthMethod,
} from '../../../rules/client-auth-methods.js';
import type { Runtime } from '../../../runtime/runtime.js';
import { issuerUrl } from '../../../upstream/discovery.js';
import { UpstreamKeysUnavailable } from '../../../upstream/upstream-keys.js';
import { verifyHmacJws } from './hmac-assertion.js';

/** Longer than any jti a client library makes (UUIDs, 32 random bytes), short enough to store. */
const MAX_JTI_LENGTH = 256;

const refused = (description: string) => new ClientAuthenticationFailed(false, description);

/** The audiences an assertion may name: scopegate's issuer and its token endpoint URL. */
export function acceptedAudiences(runtime: Runtime): ReadonlySet<string> {
  const { issuer } = runtime.config;
  return new Set([issuer, issuerUrl(issuer, runtime.tokenPath)]);
}

async function verifiedJws(
  assertion: string,
  method: JwtClientAuthMethod,
  rule: ClientRuleConfig,
  runtime: Runtime,
): Promise<VerifiedJws> {
  const algorithms = ASSERTION_ALGORITHMS[method];
  try {
    if (method === 'client_secret_jwt') {
      return verifyHmacJws(assertion, rule.client_secret as string, algorithms);
    }
    return await runtime.clientKeys.verify(rule.client_id, assertion, algorithms);
  } catch (error) {
    if (error instanceof JwsRefused) {
      const why =
        error.refusal === 'alg_not_allowed'
          ? `the assertion's alg is not allowed for ${method}`
          : error.refusal === 'no_matching_key'
            ? "no key of the client's fits the assertion"
            : error.refusal === 'bad_signature'
              ? "the assertion's signature does not verify"
              : 'the assertion is not a well-formed JWT';
      throw refused(why);
    }
    if (error instanceof UpstreamKeysUnavailable) {
      // The client's key server is down: nothing the client's credentials did wrong.
      throw unavailable("the client's keys cannot be fetched from its jwks_uri", 503);
    }
    throw error;
  }
}

function audienceAccepted(aud: unknown, accepted: ReadonlySet<string>): boolean {
  const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  return (
    values.length > 0 && values.every((value) => typeof value === 'string' && accepted.has(value))
  );
}

function numeric(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Checks the claims; returns the jti and until when it must be remembered (ms). */
function checkClaims(
  claims: Record<string, unknown>,
  clientId: string,
  runtime: Runtime,
  nowMs: number,
): { jti: string; untilMs: number } {
  const { config } = runtime;
  const skew = config.tokens.clock_tolerance / 1000;
  const maxLifetime = config.client_auth.assertion_max_lifetime / 1000;
  const now = nowMs / 1000;
  if (claims.iss !== clientId) throw refused("the assertion's iss is not the client's id");
  if (claims.sub !== clientId) throw refused("the assertion's sub is not the client's id");
  if (!audienceAccepted(claims.aud, acceptedAudiences(runtime))) {
    throw refused("the assertion's aud must be this server's issuer or token endpoint");
  }
  const exp = numeric(claims.exp);
  if (exp === undefined) throw refused('the assertion has no exp');
  if (exp <= now - skew) throw refused('the assertion has expired');
  if (exp > now + maxLifetime + skew) throw refused('the assertion is valid for too long');
  const iat = claims.iat === undefined ? undefined : numeric(claims.iat);
  if (claims.iat !== undefined && iat === undefined)
    throw refused("the assertion's iat is not a number");
  if (iat !== undefined && iat > now + skew) throw refused('the assertion is issued in the future');
  if (iat !== undefined && exp - iat > maxLifetime) {
    throw refused('the assertion is valid for too long');
  }
  const nbf = claims.nbf === undefined ? undefined : numeric(claims.nbf);
  if (claims.nbf !== undefined && nbf === undefined)
    throw refused("the assertion's nbf is not a number");
  if (nbf !== undefined && nbf > now + skew) throw refused('the assertion is not valid yet');
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti === '') throw refused('the assertion has no jti');
  if (jti.length > MAX_JTI_LENGTH) throw refused("the assertion's jti is too long");
  return { jti, untilMs: (exp + skew) * 1000 };
}

export async function verifyClientAssertion(
  assertion: string | undefined,
  assertionType: string | undefined,
  method: JwtClientAuthMethod,
  rule: ClientRuleConfig,
  runtime: Runtime,
): Promise<void> {
  if (assertionType !== JWT_BEARER_ASSERTION_TYPE) {
    throw refused(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
  }
  if (assertion === undefined) throw refused('client_assertion is missing');
  const verified = await verifiedJws(assertion, method, rule, runtime);
  const { jti, untilMs } = checkClaims(verified.payload, rule.client_id, runtime, Date.now());
  // Keyed by client: one client's jti never blocks another's.
  const key = `${rule.client_id.length}:${rule.client_id}:${jti}`;
  if (!(await runtime.replayGuard.firstUse('assertion', key, untilMs))) {
    throw refused('the assertion was already used');
  }
}
