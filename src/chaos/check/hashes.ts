/**
 * "Member hashes are equal after healing" (etcd's HashKV check): members that report a hash of
 * their key space at the same revision, over the same compaction, must report the same hash.
 * Hashes at different revisions or compact revisions are not comparable.
 */
import { formatValue } from './history.js';
import type { CheckerVerdict } from './verdict.js';

export interface MemberHash {
  readonly member: string;
  readonly revision: number;
  readonly hash: string | number;
  /** The compact revision the hash was computed from, when the store reports it. */
  readonly compactRevision?: number;
}

export interface HashGroup {
  readonly revision: number;
  readonly compactRevision: number | undefined;
  readonly hashes: ReadonlyMap<string, string | number>;
}

export interface HashesVerdict extends CheckerVerdict {
  readonly members: readonly string[];
  readonly groups: readonly HashGroup[];
  /** Groups in which members disagree. */
  readonly mismatches: readonly HashGroup[];
}

/**
 * Several samples per member (at different revisions) are fine. `expectedMembers`: every member
 * of the cluster; a pass then needs a revision at which all of them reported (2 of 3 equal hashes
 * prove nothing about the third), and a missing one makes the verdict unknown.
 */
export function checkHashesEqual(memberHashes: readonly MemberHash[], expectedMembers?: readonly string[]): HashesVerdict {
  const groups = new Map<string, { revision: number; compactRevision: number | undefined; hashes: Map<string, string | number>; conflict: boolean }>();
  for (const sample of memberHashes) {
    const id = `${sample.revision}/${sample.compactRevision ?? '-'}`;
    let group = groups.get(id);
    if (group === undefined) groups.set(id, (group = { revision: sample.revision, compactRevision: sample.compactRevision, hashes: new Map(), conflict: false }));
    const earlier = group.hashes.get(sample.member);
    // One member reporting two hashes for one revision is itself a divergence (of that member over time).
    if (earlier !== undefined && earlier !== sample.hash) group.conflict = true;
    group.hashes.set(sample.member, sample.hash);
  }
  const members = [...new Set([...(expectedMembers ?? []), ...memberHashes.map((s) => s.member)])].sort();
  const all = [...groups.values()].sort((a, b) => a.revision - b.revision);
  const mismatches = all.filter((g) => g.conflict || new Set(g.hashes.values()).size > 1);
  const complete = all.some((g) => g.hashes.size === members.length);
  const status = mismatches.length > 0 ? 'fail' : members.length >= 2 && complete ? 'pass' : 'unknown';
  const view = (g: (typeof all)[number]): HashGroup => ({ revision: g.revision, compactRevision: g.compactRevision, hashes: g.hashes });
  return { status, explanation: explain(status, members, all.map(view), mismatches.map(view)), members, groups: all.map(view), mismatches: mismatches.map(view) };
}

function describeGroup(g: HashGroup): string {
  const at = `revision ${g.revision}${g.compactRevision === undefined ? '' : ` (compacted at ${g.compactRevision})`}`;
  return `${at}: ${[...g.hashes].map(([m, h]) => `${m}=${formatValue(h)}`).join(', ')}`;
}

function explain(status: 'pass' | 'fail' | 'unknown', members: readonly string[], groups: readonly HashGroup[], mismatches: readonly HashGroup[]): string {
  switch (status) {
    case 'fail':
      return [`members disagree at ${mismatches.length} revisions:`, ...mismatches.map((g) => `  ${describeGroup(g)}`)].join('\n');
    case 'pass':
      return `all ${members.length} members (${members.join(', ')}) report equal hashes at common revisions`;
    case 'unknown':
      if (members.length < 2) return `need hashes from at least two members, got ${members.length}`;
      if (groups.length === 0) return `no member reported a hash (expected ${members.join(', ')})`;
      return [`no revision at which all ${members.length} members reported a hash:`, ...groups.map((g) => `  ${describeGroup(g)}`)].join('\n');
    default: {
      const never: never = status;
      throw new Error(`unreachable ${String(never)}`);
    }
  }
}
