/**
 * Membership changes, one member at a time (dissertation §4.1). A change travels as the data of a
 * `confChange` log entry and takes effect on every member when that entry commits; the leader keeps
 * at most one uncommitted change in its log. `bootstrap` only ever appears as entry 1, written
 * identically by every founding member, so that any log replayed from index 1 knows the founders.
 *
 * Learners (§4.2.1 "catching up new servers", etcd's `member add --learner`) receive the log like
 * voters but count for nothing: no commit quorum, no votes, no campaigns. A new server joins as a
 * learner and is promoted once it has caught up, so that it never weakens the quorum while empty.
 */
import type { ConfState, NodeId } from './types.js';

export type ConfChange =
  | { readonly type: 'addVoter'; readonly nodeId: NodeId }
  /** Removes a voter or a learner. */
  | { readonly type: 'removeVoter'; readonly nodeId: NodeId }
  | { readonly type: 'addLearner'; readonly nodeId: NodeId }
  /** Turns a learner into a voter. */
  | { readonly type: 'promoteLearner'; readonly nodeId: NodeId }
  | { readonly type: 'bootstrap'; readonly voters: readonly NodeId[] };

const nodeChanges: ReadonlySet<string> = new Set(['addVoter', 'removeVoter', 'addLearner', 'promoteLearner']);

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
  return validateConfChange(raw);
}

/** Checks the shape of a change from outside (a decoded entry or a client request). */
export function validateConfChange(raw: unknown): ConfChange | { readonly error: string } {
  if (typeof raw !== 'object' || raw === null) return { error: 'not an object' };
  const o = raw as Record<string, unknown>;
  if (typeof o.type === 'string' && nodeChanges.has(o.type) && typeof o.nodeId === 'string' && o.nodeId.length > 0) {
    return { type: o.type as Exclude<ConfChange['type'], 'bootstrap'>, nodeId: o.nodeId };
  }
  if (o.type === 'bootstrap' && Array.isArray(o.voters) && o.voters.every((v) => typeof v === 'string' && v.length > 0)) {
    return { type: 'bootstrap', voters: o.voters as string[] };
  }
  return { error: 'unknown conf change' };
}

/**
 * Snapshots written before learners existed carry no `learners` field: they had none.
 */
export function learnersOf(conf: ConfState): readonly NodeId[] {
  const learners = (conf as { readonly learners?: readonly NodeId[] }).learners;
  return learners ?? [];
}

/**
 * The membership after `cc`, both lists sorted. Total, because it runs on committed entries: a
 * change that does not fit (adding a present member, promoting a non-learner) changes nothing;
 * the leader refuses those at propose time. A node is never both a voter and a learner.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters;
  const learners = learnersOf(conf);
  switch (cc.type) {
    case 'addVoter':
      if (voters.includes(cc.nodeId) || learners.includes(cc.nodeId)) return { voters: [...voters], learners: [...learners] };
      return { voters: [...voters, cc.nodeId].sort(), learners: [...learners] };
    case 'addLearner':
      if (voters.includes(cc.nodeId) || learners.includes(cc.nodeId)) return { voters: [...voters], learners: [...learners] };
      return { voters: [...voters], learners: [...learners, cc.nodeId].sort() };
    case 'promoteLearner':
      if (!learners.includes(cc.nodeId)) return { voters: [...voters], learners: [...learners] };
      return { voters: [...voters, cc.nodeId].sort(), learners: learners.filter((l) => l !== cc.nodeId) };
    case 'removeVoter':
      return { voters: voters.filter((v) => v !== cc.nodeId), learners: learners.filter((l) => l !== cc.nodeId) };
    case 'bootstrap':
      return { voters: [...cc.voters].sort(), learners: [] };
    default: {
      const unreachable: never = cc;
      throw new Error(`raft: unknown conf change ${JSON.stringify(unreachable)}`);
    }
  }
}
