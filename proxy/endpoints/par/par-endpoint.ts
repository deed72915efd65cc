/**
 * scopegate's pushed authorization request endpoint (RFC 9126), for clients held to a profile:
 * the upstream may have none. The request is read, its client authenticated (pushing-client.ts),
 * checked under the profile (pushed-request.ts), bound to the key of a DPoP proof sent with it
 * (RFC 9449 §10.1) or named by dpop_jkt, and kept once under a fresh request_uri for
 * `pushed_authorization.request_uri_lifetime`; the answer is `201 {request_uri, expires_in}`.
 * The authorization endpoint then takes it (pushed-authorization.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodyKind, parseTokenRequestBody, readBody } from '../../http/body.js';
import {
  internalError,
  invalidRequest,
  OAuthError,
  sendJson,
  sendOAuthError,
} from '../../http/oauth-error.js';
import type { Logger } from '../../observability/log.js';
import { PUSHED_AUTHORIZATION_PATH, REQUEST_URI_PREFIX } from '../../rules/security-profile.js';
import type { Runtime } from '../../runtime/runtime.js';
import { issuerUrl } from '../../upstream/discovery.js';
import { checkDpopProof, dpopError } from '../dpop-check.js';
import { checkPushedRequest } from './pushed-request.js';
import { pushingClient } from './pushing-client.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export async function handlePushedAuthorization(
  req: IncomingMessage,
  res: ServerResponse,
  runtime: Runtime,
  logger: Logger,
  requestId: string,
): Promise<void> {
  try {
    // RFC 9126 §2.1: the parameters are form-encoded, as at the token endpoint.
    if (bodyKind(req.headers['content-type']) !== 'form') {
      req.resume();
      throw invalidRequest('pushed requests must be application/x-www-form-urlencoded');
    }
    const body = parseTokenRequestBody(
      await readBody(req, runtime.config.server.body_limit),
      'form',
    );
    const clientId = await pushingClient(req, body, runtime);
    const pushed = checkPushedRequest(body.params, body.resources, clientId, runtime.config);
    // RFC 9449 §10.1: a proof sent with the push binds the code to its key, as dpop_jkt does.
    const proof = await checkDpopProof(req, runtime, 'token', {
      url: issuerUrl(runtime.config.issuer, PUSHED_AUTHORIZATION_PATH),
    });
    if (proof !== undefined) {
      if (pushed.dpopJkt !== undefined && pushed.dpopJkt !== proof.jkt) {
        throw dpopError(
          'token',
          'invalid_dpop_proof',
          'dpop_jkt is not the key of the DPoP proof',
          runtime.config,
        );
      }
      pushed.dpopJkt = proof.jkt;
    }
    const requestUri = `${REQUEST_URI_PREFIX}${randomBytes(32).toString('base64url')}`;
    const lifetime = runtime.config.pushed_authorization.request_uri_lifetime;
    await runtime.authorizationStore.put('pushed', requestUri, pushed, Date.now() + lifetime);
    logger.info({ requestId, clientIdHint: clientId }, 'authorization request pushed');
    sendJson(
      res,
      201,
      { request_uri: requestUri, expires_in: Math.floor(lifetime / 1000) },
      NO_STORE,
    );
  } catch (caught) {
    if (!(caught instanceof OAuthError)) {
      logger.error({ err: caught, requestId }, 'pushed authorization request failed');
    }
    sendOAuthError(
      res,
      caught instanceof OAuthError
        ? caught
        : internalError('the pushed request could not be served'),
    );
  }
}
