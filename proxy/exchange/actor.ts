/**
 * Delegation (RFC 8693 §4.1, §4.4): an actor token puts its party in the issued token's `act`
 * claim, with the subject's own `act` nested inside (the chain of earlier actors). When the
 * subject names who may act for it (`may_act`), the actor must match every member it names.
 */
import type { JWTPayload } from 'jose';
import { invalidRequest } from '../http/oauth-error.js';

/** Members that identify a party in `act` and `may_act`. */
const PARTY_MEMBERS = ['sub', 'iss', 'client_id'] as const;

type Party = Record<string, unknown>;

function isObject(value: unknown): value is Party {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function assertMayAct(subject: JWTPayload, actor: JWTPayload): void {
  if (subject.may_act === undefined) return;
  const mayAct = subject.may_act;
  if (!isObject(mayAct)) throw invalidRequest('the subject token has a malformed may_act claim');
  const named = PARTY_MEMBERS.filter((member) => mayAct[member] !== undefined);
  // A may_act that names nobody cannot be satisfied: fail closed rather than allow anyone.
  if (named.length === 0 || named.some((member) => mayAct[member] !== actor[member])) {
    throw invalidRequest('the actor is not allowed to act for the subject (may_act)');
  }
}

/** The `act` claim for a token the actor obtains on behalf of the subject. */
export function actClaim(subject: JWTPayload, actor: JWTPayload): Party {
  if (typeof actor.sub !== 'string' || actor.sub === '') {
    throw invalidRequest('the actor_token has no sub');
  }
  const act: Party = {};
  for (const member of PARTY_MEMBERS) {
    if (typeof actor[member] === 'string') act[member] = actor[member];
  }
  if (isObject(subject.act)) act.act = subject.act;
  return act;
}
