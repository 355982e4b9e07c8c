// The wire unit (docs/bus-and-security.md#bus-envelopes): an entry's `payload` is the BusEnvelope bytes and its
// `signature` the base64 HMAC-SHA256 of exactly those bytes. This project stamps every envelope it writes with `nonce`
// and `issued_at_ms` attributes (covered by the signature); a reader verifies the bytes as received.
import { randomUUID } from 'node:crypto';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { sign, verify, type SignatureContext } from '../../contracts/signing.ts';
import type { EntryFields } from './stream-store.ts';

export const ATTR_NONCE = 'nonce';
export const ATTR_ISSUED_AT = 'issued_at_ms';
export const ATTR_SOURCE = 'source';

/** Envelopes dated further than this in the future are refused (the skew Kasmina allows for commands). */
export const MAX_FUTURE_SKEW_MS = 5_000;

export interface SealedEnvelope {
  fields: { payload: Buffer; signature: string };
  nonce: string;
  bytes: number;
}

/** Wraps `payload` (inner message bytes) in a stamped, signed BusEnvelope. */
export function sealEnvelope(
  type: v1.BusMessageType,
  payload: Uint8Array,
  signing: SignatureContext,
  attributes: Record<string, string> = {},
  now = Date.now(),
): SealedEnvelope {
  const nonce = attributes[ATTR_NONCE] ?? randomUUID();
  const envelope = leyline.BusEnvelope.create({
    messageType: type,
    payload,
    attributes: { ...attributes, [ATTR_NONCE]: nonce, [ATTR_ISSUED_AT]: String(now) },
  });
  const bytes = encodeLeyline(envelope);
  return { fields: { payload: Buffer.from(bytes), signature: sign(bytes, signing) }, nonce, bytes: bytes.length };
}

export type OpenFailure = 'missing_payload' | 'bad_signature' | 'undecodable' | 'unstamped' | 'stale' | 'future';

export type OpenedEnvelope =
  | { ok: true; envelope: v1.BusEnvelope; nonce: string | null; issuedAtMs: number | null }
  | { ok: false; reason: OpenFailure; detail: string; envelope?: v1.BusEnvelope };

export interface OpenOptions {
  signing: SignatureContext;
  /** Accept envelopes without nonce/issued_at (the Python prototype's). */
  acceptUnstamped: boolean;
  /** Stamped envelopes older than this are stale (0: no limit). */
  maxAgeMs: number;
  now?: number;
}

/** Checks an entry as read: payload present, signature valid over the received bytes, decodable, fresh. */
export function openEnvelope(fields: EntryFields, options: OpenOptions): OpenedEnvelope {
  const payload = fields.payload;
  if (!payload || payload.length === 0)
    return { ok: false, reason: 'missing_payload', detail: 'entry has no payload field' };
  if (!verify(payload, fields.signature?.toString() ?? '', options.signing)) {
    return {
      ok: false,
      reason: 'bad_signature',
      detail: fields.signature ? 'signature does not match the payload' : 'entry has no signature',
    };
  }
  const decoded = decodeLeyline(
    leyline.BusEnvelope,
    new Uint8Array(payload.buffer, payload.byteOffset, payload.length),
  );
  if (!decoded.ok) return { ok: false, reason: 'undecodable', detail: decoded.error.message };
  const envelope = decoded.message;
  const nonce = envelope.attributes[ATTR_NONCE];
  const issuedRaw = envelope.attributes[ATTR_ISSUED_AT];
  if (!nonce || !issuedRaw) {
    if (options.acceptUnstamped) return { ok: true, envelope, nonce: null, issuedAtMs: null };
    return { ok: false, reason: 'unstamped', detail: 'envelope has no nonce or issued_at_ms', envelope };
  }
  const issuedAtMs = Number(issuedRaw);
  const now = options.now ?? Date.now();
  if (!Number.isFinite(issuedAtMs))
    return {
      ok: false,
      reason: 'unstamped',
      detail: `issued_at_ms ${JSON.stringify(issuedRaw)} is not a number`,
      envelope,
    };
  if (issuedAtMs > now + MAX_FUTURE_SKEW_MS)
    return { ok: false, reason: 'future', detail: `issued ${issuedAtMs - now} ms in the future`, envelope };
  if (options.maxAgeMs > 0 && now - issuedAtMs > options.maxAgeMs)
    return { ok: false, reason: 'stale', detail: `issued ${now - issuedAtMs} ms ago`, envelope };
  return { ok: true, envelope, nonce, issuedAtMs };
}
