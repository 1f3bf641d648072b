import { Packr } from 'msgpackr';
import { isAddress, type Address } from '../primitives/address.js';
import { EnvelopeKind, type Envelope } from '../primitives/envelope.js';

/**
 * The wire codec: msgpack for every message that crosses a thread. A batch is one msgpack array
 * of envelopes `{kind, from, to, id, body}`, packed once and transferred as one buffer.
 * Decoding validates each envelope's frame; a malformed one is returned as a rejection, never
 * thrown, so a bad peer cannot crash the receiver. Message bodies are validated later, by the
 * receiving actor's protocol.
 */
const packr = new Packr({ useRecords: false, variableMapSize: true });

/**
 * Batches use msgpackr records: each distinct object shape is described once per batch, which
 * makes a batch ~30% smaller and decoding ~2.4x faster than plain maps. A fresh Packr per batch
 * keeps every batch self-describing (no structure table shared between threads to fall out of
 * step when a thread is replaced).
 */
function batchPackr(): Packr {
  return new Packr({ useRecords: true, variableMapSize: true });
}

/** Below this many envelopes a record table costs more than it saves: plain maps, shared packer. */
const RECORDS_MIN_BATCH = 8;

/**
 * A batch starts with one byte naming its form. Plain maps must never be read by an unpacker that
 * holds record definitions (it would take small integers for record references), and a records
 * batch is read by a fresh one.
 */
const PLAIN = 0;
const RECORDS = 1;

/** Largest batch accepted from the wire (a limit on everything): 64 MiB. */
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export function encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
  // Envelopes travel as objects: in a records batch their five keys are written once, and the
  // receiver decodes each straight into an envelope-shaped object (no tuple to copy from).
  const records = envelopes.length >= RECORDS_MIN_BATCH;
  const body = (records ? batchPackr() : packr).pack(envelopes);
  const out = new Uint8Array(body.length + 1);
  out[0] = records ? RECORDS : PLAIN;
  out.set(body, 1);
  return out;
}

export interface DecodedBatch {
  readonly envelopes: Envelope[];
  readonly rejected: string[];
}

const knownAddresses = new Set<string>();
const KNOWN_ADDRESSES_MAX = 100_000;

function validAddress(value: unknown): value is Address {
  if (typeof value === 'string' && knownAddresses.has(value)) return true;
  if (!isAddress(value)) return false;
  if (knownAddresses.size < KNOWN_ADDRESSES_MAX) knownAddresses.add(value);
  return true;
}

/** Checks one decoded envelope in place; returns it, or the reason it is malformed. */
function validateEnvelope(raw: unknown): Envelope | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'envelope is not an object';
  const { kind, from, to, id, body } = raw as Record<string, unknown>;
  if (kind !== EnvelopeKind.Tell && kind !== EnvelopeKind.Ask && kind !== EnvelopeKind.Reply) {
    return `envelope kind ${JSON.stringify(kind)} is not tell/ask/reply`;
  }
  if (!validAddress(from)) return `envelope sender ${JSON.stringify(from)} is not an address`;
  if (!validAddress(to)) return `envelope target ${JSON.stringify(to)} is not an address`;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return 'envelope id is not a non-negative integer';
  if (typeof body !== 'object' || body === null || typeof (body as { type?: unknown }).type !== 'string') {
    return 'envelope body is not a message with a string "type"';
  }
  return raw as Envelope;
}

export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  const envelopes: Envelope[] = [];
  const rejected: string[] = [];
  if (!(bytes instanceof Uint8Array)) return { envelopes, rejected: ['batch is not bytes'] };
  if (bytes.length > MAX_BATCH_BYTES) return { envelopes, rejected: [`batch of ${bytes.length} bytes exceeds ${MAX_BATCH_BYTES}`] };
  let raw: unknown;
  try {
    const form = bytes[0];
    if (form !== PLAIN && form !== RECORDS) return { envelopes, rejected: [`unknown batch form ${form}`] };
    raw = (form === RECORDS ? batchPackr() : packr).unpack(bytes.subarray(1));
  } catch (error) {
    return { envelopes, rejected: [`undecodable msgpack: ${(error as Error).message}`] };
  }
  if (!Array.isArray(raw)) return { envelopes, rejected: ['batch is not an array'] };
  for (const item of raw as unknown[]) {
    const result = validateEnvelope(item);
    if (typeof result === 'string') rejected.push(result);
    else envelopes.push(result);
  }
  return { envelopes, rejected };
}
