/**
 * Step "issue": scopegate's token from verified claims, in the token profile of this client and
 * audience (lifetime bound, signing algorithm, typ, scope claims, fixed and carried claims), signed
 * with the active key of the profile's algorithm. Shared by the token endpoint and token
 * exchange. A signing failure is logged and ends in 500.
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { internalError } from '../../http/oauth-error.js';
import { type IssuedToken, issueToken } from '../../issued/access-token.js';
import type { Confirmation } from '../../issued/confirmation.js';
import { embeddingFor } from '../../issued/embedded-upstream-token.js';
import { tokenProfileFor } from '../../issued/token-profile.js';
import type { Logger } from '../../observability/log.js';
import { carryRulesOf } from '../../rules/carried-claims.js';
import type { Runtime } from '../../runtime/runtime.js';

export interface IssueContext {
  runtime: Runtime;
  logger: Logger;
  requestId: string;
}

export async function issue(
  claims: JWTPayload,
  clientId: string | undefined,
  scopes: readonly string[],
  audiences: string[],
  context: IssueContext,
  upstreamAccessToken?: unknown,
  /** Token exchange: the subject's revocation references (revocation-refs.ts). */
  revocationRefs?: readonly string[],
  /** The key the client proved it holds (sender-binding-step.ts): the token's `cnf`. */
  confirmation?: Confirmation,
): Promise<IssuedToken> {
  const { config } = context.runtime;
  try {
    // With openid and tokens.upstream_token_key: the upstream's token sealed inside, for userinfo.
    const embedding = await embeddingFor(claims, scopes, upstreamAccessToken, config, randomUUID);
    const profile = tokenProfileFor(config, clientId, audiences);
    const { signingKeys } = context.runtime;
    const key = profile.alg === undefined ? signingKeys.active : signingKeys.activeFor(profile.alg);
    // The config check refuses a profile alg without an active key; fail closed all the same.
    if (key === undefined) throw new Error(`no active ${profile.alg} signing key`);
    return await issueToken({
      upstreamClaims: embedding.claims,
      jti: embedding.jti,
      issuer: config.issuer,
      clientId,
      scopes,
      profile,
      nowSec: Math.floor(Date.now() / 1000),
      key,
      carryRules: carryRulesOf(config.tokens),
      revocationRefs,
      confirmation,
    });
  } catch (error) {
    context.logger.error({ err: error, requestId: context.requestId }, 'signing failed');
    throw internalError('the token could not be signed');
  }
}
