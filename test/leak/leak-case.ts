/**
 * One leak case: the upstream armed with a carrier at the route's endpoint (or issuing tokens of
 * the carrier's shape), the client's request in one encoding (after a code grant through
 * scopegate when the route needs the client's tokens), and the oracle's findings on what came
 * back.
 */
import type { Carrier } from './carriers.js';
import { type ClientRequest, send } from './client-capture.js';
import { type Finding, findLeaks } from './leak-oracle.js';
import type { LeakUpstream } from './leak-upstream.js';
import {
  CLIENT,
  clientRequest,
  type HeldTokens,
  REDIRECT_URI,
  type RequestEncoding,
  type RouteSpec,
} from './routes.js';
import { identityAllowedBy } from './wide-claims.js';

export interface LeakCase {
  route: RouteSpec;
  carrier: Carrier;
  variant: string;
  request: RequestEncoding;
}

export interface CaseResult {
  findings: Finding[];
  /** The armed carrier reached scopegate (the upstream answered with it at least once). */
  delivered: boolean;
  status: number;
  sent: ClientRequest;
}

/** scopegate's tokens for the client, from a code grant through scopegate. */
async function codeGrant(gatewayUrl: string, scope: string): Promise<HeldTokens> {
  const response = await fetch(`${gatewayUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: 'setup',
      redirect_uri: REDIRECT_URI,
      scope,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`the code grant through scopegate failed: ${response.status}`);
  }
  return {
    access: body.access_token,
    id: typeof body.id_token === 'string' ? body.id_token : undefined,
    refresh: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
  };
}

export async function runCase(
  upstream: LeakUpstream,
  gatewayUrl: string,
  leakCase: LeakCase,
): Promise<CaseResult> {
  const { route, carrier, variant, request } = leakCase;
  upstream.disarm();
  upstream.shape = carrier.shape?.(variant) ?? {};
  try {
    const held = route.needsTokens ? await codeGrant(gatewayUrl, request.scope) : undefined;
    const armed = carrier.arm !== undefined && route.endpoint !== undefined;
    if (armed && carrier.arm && route.endpoint) upstream.arm(route.endpoint, carrier.arm(variant));
    const sent = clientRequest(route, request, held);
    const capture = await send(gatewayUrl, sent);
    return {
      findings: findLeaks(capture, upstream.ledger, identityAllowedBy(route.issuedScope(request))),
      delivered: armed ? upstream.delivered > 0 : true,
      status: capture.status,
      sent,
    };
  } finally {
    upstream.disarm();
    upstream.shape = {};
  }
}
