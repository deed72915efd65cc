/**
 * DPoP server nonces (RFC 9449 §8, §9) without shared state: a nonce is a time slot and an HMAC
 * of it under `tokens.dpop.nonce.key`, so every replica with the key issues the same nonce in a
 * slot and accepts the others'. The current and the previous slot are accepted: a nonce lives
 * one to two lifetimes, and a client that kept one longer is sent a fresh one (use_dpop_nonce).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** 16 bytes of HMAC-SHA256: unguessable, and short enough to ride on every proof. */
const MAC_BYTES = 16;
const NONCE = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/;

export class DpopNonces {
  constructor(
    private readonly key: Uint8Array,
    private readonly lifetimeMs: number,
  ) {}

  private mac(slot: number): Buffer {
    return createHmac('sha256', this.key)
      .update(`scopegate dpop nonce ${slot}`)
      .digest()
      .subarray(0, MAC_BYTES);
  }

  private slotAt(nowMs: number): number {
    return Math.floor(nowMs / this.lifetimeMs);
  }

  /** The nonce of the current slot (RFC 9449 §8.1 NQCHAR: base36, a dot and base64url). */
  current(nowMs: number): string {
    const slot = this.slotAt(nowMs);
    return `${slot.toString(36)}.${this.mac(slot).toString('base64url')}`;
  }

  /** Whether `nonce` was issued by a holder of the key in the current or the previous slot. */
  accepts(nonce: string, nowMs: number): boolean {
    const match = NONCE.exec(nonce);
    if (match === null) return false;
    const slot = Number.parseInt(match[1] as string, 36);
    const now = this.slotAt(nowMs);
    if (slot !== now && slot !== now - 1) return false;
    return timingSafeEqual(Buffer.from(match[2] as string, 'base64url'), this.mac(slot));
  }
}
