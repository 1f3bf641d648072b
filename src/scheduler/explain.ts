/**
 * Why a pod went where it went: a bounded log of scheduling decisions (the last N, plus every
 * still-pending pod's latest attempt) and a table of one decision, nodes as rows and plugins as
 * columns — each Filter's verdict, each Score plugin's normalised (raw) score, the weighted total.
 * The same Decision record feeds FailedScheduling messages, so the two never disagree.
 */
import { assert } from '../primitives/assert.js';
import type { Decision } from './framework.js';

export class DecisionLog {
  private readonly recentRing: Decision[] = [];
  private next = 0;
  /** Latest decision per pod uid, oldest first; dropped when the pod is bound or deleted. */
  private readonly latestByUid = new Map<string, Decision>();
  private readonly uidByKey = new Map<string, string>();

  constructor(readonly maxRecent = 1000, readonly maxPods = 100_000) {
    assert(maxRecent > 0 && maxPods > 0, 'DecisionLog bounds must be positive');
  }

  record(d: Decision): void {
    if (this.recentRing.length < this.maxRecent) this.recentRing.push(d);
    else { this.recentRing[this.next] = d; this.next = (this.next + 1) % this.maxRecent; }
    this.latestByUid.delete(d.uid);
    this.latestByUid.set(d.uid, d);
    this.uidByKey.set(d.podKey, d.uid);
    if (this.latestByUid.size > this.maxPods) {
      const [oldUid, old] = this.latestByUid.entries().next().value as [string, Decision];
      this.latestByUid.delete(oldUid);
      if (this.uidByKey.get(old.podKey) === oldUid) this.uidByKey.delete(old.podKey);
    }
  }

  /** The pod is bound (its last decision stays among the recent ones) or gone. */
  forget(uid: string): void {
    const d = this.latestByUid.get(uid);
    if (d === undefined) return;
    this.latestByUid.delete(uid);
    if (this.uidByKey.get(d.podKey) === uid) this.uidByKey.delete(d.podKey);
  }

  /** The last decision for "namespace/name": a pending pod's latest attempt, else the most recent one. */
  latest(podKey: string): Decision | undefined {
    const uid = this.uidByKey.get(podKey);
    if (uid !== undefined) return this.latestByUid.get(uid);
    const all = this.recent();
    for (let i = all.length - 1; i >= 0; i--) if (all[i]!.podKey === podKey) return all[i];
    return undefined;
  }

  /** Oldest first. */
  recent(): Decision[] {
    return this.recentRing.length < this.maxRecent ? [...this.recentRing] : [...this.recentRing.slice(this.next), ...this.recentRing.slice(0, this.next)];
  }

  pending(): Decision[] { return [...this.latestByUid.values()]; }
}

export interface ExplainTable {
  readonly columns: readonly string[];
  /** One row per evaluated node: the chosen one first, then feasible by total, then the rejected. */
  readonly rows: ReadonlyArray<readonly string[]>;
  readonly summary: string;
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

export function explainTable(d: Decision): ExplainTable {
  const filters = d.filterPlugins ?? [];
  const scores = d.scored?.plugins ?? [];
  const columns = ['NODE', ...filters, ...scores.map((s) => `${s.plugin}(x${s.weight})`), 'TOTAL'];
  const index = new Map((d.scored?.nodes ?? []).map((n, i) => [n, i]));
  const total = (n: string) => { const i = index.get(n); return i === undefined ? 0 : d.scored!.totals[i]!; };
  const feasible = [...d.feasible].sort((a, b) => (a === d.nodeName ? -1 : b === d.nodeName ? 1 : total(b) - total(a)));
  const rows: string[][] = [];
  for (const n of feasible) {
    const i = index.get(n);
    rows.push([
      n === d.nodeName ? `* ${n}` : n,
      ...filters.map(() => 'ok'),
      ...scores.map((s) => (i === undefined ? '' : `${fmt(s.normalized[i]!)} (${fmt(s.raw[i]!)})`)),
      i === undefined ? '' : fmt(d.scored!.totals[i]!),
    ]);
  }
  for (const [n, s] of d.filtered) {
    const at = filters.indexOf(s.plugin ?? '');
    rows.push([
      n,
      ...filters.map((_f, j) => (j < at ? 'ok' : j === at ? `${s.code === 'UnschedulableAndUnresolvable' ? 'unresolvable' : s.code === 'Unschedulable' ? 'no' : s.code}: ${s.reasons.join(', ')}` : '')),
      ...scores.map(() => ''),
      '',
    ]);
  }
  const evaluated = d.feasible.length + d.filtered.size;
  let summary = `pod ${d.podKey} (${d.schedulerName}): `;
  summary += d.nodeName !== undefined
    ? `-> ${d.nodeName}; ${d.feasible.length} feasible of ${evaluated} evaluated, ${d.numAllNodes} nodes`
    : d.message ?? 'not scheduled';
  if (d.preFilter.length > 0) summary += `; PreFilter: ${d.preFilter.map((s) => `${s.plugin ?? '?'} ${s.code}${s.reasons.length > 0 ? ` (${s.reasons.join(', ')})` : ''}`).join(', ')}`;
  if (d.postFilter !== undefined && d.postFilter.nominatedNodeName !== undefined && d.postFilter.nominatedNodeName !== '') {
    summary += `; preemption: nominated ${d.postFilter.nominatedNodeName}, victims ${d.postFilter.victims.join(', ') || 'none'}`;
  }
  if (d.reservePermit !== undefined) summary += `; ${d.reservePermit.plugin ?? 'Permit'} ${d.reservePermit.code}: ${d.reservePermit.reasons.join(', ')}`;
  return { columns, rows, summary };
}

/** The table as aligned text (what `pocketkube explain pod` prints). */
export function renderExplain(d: Decision): string {
  return renderExplainTable(explainTable(d));
}

/** An ExplainTable as aligned text (a table received from a scheduler actor, say). */
export function renderExplainTable(t: ExplainTable): string {
  const all = [t.columns, ...t.rows];
  const widths = t.columns.map((_c, j) => Math.max(...all.map((r) => (r[j] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, j) => c.padEnd(widths[j]!)).join('  ').trimEnd();
  return [t.summary, line(t.columns), ...t.rows.map(line)].join('\n');
}
