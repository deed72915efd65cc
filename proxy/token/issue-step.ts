/**
 * Step "issue": scopegate's token from verified claims, signed with the active key, with the
 * configured lifetime bound and the scope shape for this client and audience. Shared by the
 * token endpoint and token exchange. A signing failure is logged and ends in 500.
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { internalError } from '../http/oauth-error.js';
import type { Logger } from '../log.js';
import { embeddingFor } from '../oidc/embedded-upstream-token.js';
import type { Runtime } from '../runtime.js';
import { droppedAuthorizationClaims, type IssuedToken, issueToken } from './issue-token.js';
import { scopeFormatFor } from './scope-format.js';

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
): Promise<IssuedToken> {
  const { config } = context.runtime;
  try {
    // With openid and tokens.upstream_token_key: the upstream's token sealed inside, for userinfo.
    const embedding = await embeddingFor(claims, scopes, upstreamAccessToken, config, randomUUID);
    return await issueToken({
      upstreamClaims: embedding.claims,
      jti: embedding.jti,
      issuer: config.issuer,
      clientId,
      scopes,
      scopeFormat: scopeFormatFor(config, clientId, audiences),
      maxLifetimeSec: Math.floor(config.tokens.max_lifetime / 1000),
      nowSec: Math.floor(Date.now() / 1000),
      key: context.runtime.signingKeys.active,
      droppedClaims: droppedAuthorizationClaims(config.tokens.authorization_claims),
      revocationRefs,
    });
  } catch (error) {
    context.logger.error({ err: error, requestId: context.requestId }, 'signing failed');
    throw internalError('the token could not be signed');
  }
}
