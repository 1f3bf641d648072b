/**
 * Membership changes, one voter at a time (dissertation §4.1). A change travels as the data of a
 * `confChange` log entry and takes effect on every member when that entry commits; the leader keeps
 * at most one uncommitted change in its log. `bootstrap` only ever appears as entry 1, written
 * identically by every founding member, so that any log replayed from index 1 knows the founders.
 */
import type { NodeId } from './types.js';

export type ConfChange =
  | { readonly type: 'addVoter'; readonly nodeId: NodeId }
  | { readonly type: 'removeVoter'; readonly nodeId: NodeId }
  | { readonly type: 'bootstrap'; readonly voters: readonly NodeId[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

/** Decodes entry data written by encodeConfChange; corrupt data is an invariant violation (it was committed). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const parsed = parseConfChange(data);
  if ('error' in parsed) throw new Error(`raft: committed confChange entry is corrupt: ${parsed.error}`);
  return parsed;
}

export function parseConfChange(data: Uint8Array): ConfChange | { readonly error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null) return { error: 'not an object' };
  const o = raw as Record<string, unknown>;
  if ((o.type === 'addVoter' || o.type === 'removeVoter') && typeof o.nodeId === 'string' && o.nodeId.length > 0) {
    return { type: o.type, nodeId: o.nodeId };
  }
  if (o.type === 'bootstrap' && Array.isArray(o.voters) && o.voters.every((v) => typeof v === 'string' && v.length > 0)) {
    return { type: 'bootstrap', voters: o.voters as string[] };
  }
  return { error: 'unknown conf change' };
}

/** The voter set after `cc`; adding a present voter or removing an absent one changes nothing. */
export function applyToVoters(voters: readonly NodeId[], cc: ConfChange): NodeId[] {
  switch (cc.type) {
    case 'addVoter':
      return voters.includes(cc.nodeId) ? [...voters] : [...voters, cc.nodeId].sort();
    case 'removeVoter':
      return voters.filter((v) => v !== cc.nodeId);
    case 'bootstrap':
      return [...cc.voters].sort();
    default: {
      const unreachable: never = cc;
      throw new Error(`raft: unknown conf change ${JSON.stringify(unreachable)}`);
    }
  }
}
