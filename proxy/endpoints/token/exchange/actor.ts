/**
 * Delegation (RFC 8693 §4.1, §4.4): an actor token puts its party in the issued token's `act`
 * claim, with the subject's own `act` nested inside (the chain of earlier actors).
 *
 * A subject that names who may act for it (`may_act`) consented to delegation to that party
 * only, so an exchange of it must say who acts: an actor token whose party matches every member
 * `may_act` names, or else an authenticated exchange client that matches, which then becomes the
 * actor. Without either, the exchange is refused: a bearer of the subject would otherwise obtain
 * a token with no `act` at all, as if the subject itself were asking.
 */
import type { JWTPayload } from 'jose';
import { invalidRequest } from '../../../http/oauth-error.js';
import type { ExchangeClient } from './client-auth.js';

/** Members that identify a party in `act` and `may_act`. */
const PARTY_MEMBERS = ['sub', 'iss', 'client_id'] as const;

type Party = Record<string, unknown>;

function isObject(value: unknown): value is Party {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An authenticated exchange client as a party: scopegate authenticated it against its own
 * configuration, so scopegate's issuer is the one that vouches for the identifier.
 */
export function clientParty(clientId: string, issuer: string): Party {
  return { sub: clientId, iss: issuer, client_id: clientId };
}

function assertMayAct(subject: JWTPayload, actor: Party, who: string): void {
  if (subject.may_act === undefined) return;
  const mayAct = subject.may_act;
  if (!isObject(mayAct)) throw invalidRequest('the subject token has a malformed may_act claim');
  const named = PARTY_MEMBERS.filter((member) => mayAct[member] !== undefined);
  // A may_act that names nobody cannot be satisfied: fail closed rather than allow anyone.
  if (named.length === 0 || named.some((member) => mayAct[member] !== actor[member])) {
    throw invalidRequest(`the ${who} is not allowed to act for the subject (may_act)`);
  }
}

/** The `act` claim for a token the actor obtains on behalf of the subject. */
function actClaim(subject: JWTPayload, actor: Party, who: string): Party {
  if (typeof actor.sub !== 'string' || actor.sub === '') {
    throw invalidRequest(`the ${who} has no sub`);
  }
  const act: Party = {};
  for (const member of PARTY_MEMBERS) {
    if (typeof actor[member] === 'string') act[member] = actor[member];
  }
  if (isObject(subject.act)) act.act = subject.act;
  return act;
}

/**
 * The issued token's `act`, or undefined when nobody acts for the subject (no actor token, and
 * the subject does not ask for delegation with `may_act`).
 */
export function delegation(
  subject: JWTPayload,
  actor: JWTPayload | undefined,
  client: ExchangeClient,
  issuer: string,
): Party | undefined {
  if (actor !== undefined) {
    assertMayAct(subject, actor, 'actor');
    return actClaim(subject, actor, 'actor_token');
  }
  if (subject.may_act === undefined) return undefined;
  if (client === undefined) {
    throw invalidRequest(
      'the subject_token names who may act for it (may_act): an actor_token or an authenticated client it names is required',
    );
  }
  const party = clientParty(client, issuer);
  assertMayAct(subject, party, 'client');
  return actClaim(subject, party, 'client');
}
