/**
 * DefaultPreemption (upstream plugins/defaultpreemption + framework/preemption): when no node
 * fits, find nodes where deleting lower-priority pods would make room, choose the victims on each
 * (as few and as unimportant as possible, PodDisruptionBudgets respected where they can be), pick
 * one node by upstream's criteria in order — fewest PDB violations, lowest highest-victim
 * priority, lowest priority sum, fewest victims, latest start of the most important victims —
 * and return it as the pod's nominatedNodeName with the victims to delete. Pure: the dry runs use
 * the framework's `fitsWithout`, the candidate offset its seeded randomness.
 */
import { asRecord, asString, parseRfc3339 } from '../../api/index.js';
import { fitErrorMessage } from '../framework.js';
import {
  success, type NodeInfo, type PdbInfo, type PluginContext, type PodInfo, type PostFilterEnv, type PostFilterPlugin,
  type PostFilterResult, type Status,
} from '../types.js';
import { built, refused, unknownArgKey, type PluginFactory } from './args.js';

const errNotHelpful = 'Preemption is not helpful for scheduling';
const errNoVictims = 'No preemption victims found for incoming pod';

/** status.startTime; a pod not started yet counts as starting now, i.e. the latest. */
function podStartMs(p: PodInfo): number {
  const t = asString(asRecord(p.pod['status'])?.['startTime']);
  return (t === undefined ? undefined : parseRfc3339(t)) ?? Number.POSITIVE_INFINITY;
}

/** Upstream MoreImportantPod: higher priority, then the one that started earlier. */
function moreImportant(a: PodInfo, b: PodInfo): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return podStartMs(a) < podStartMs(b);
}

const byImportance = (a: PodInfo, b: PodInfo): number => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0);

/** Upstream filterPodsWithPDBViolation: in order, each matching PDB's budget is spent; once below zero the pod violates. */
export function splitByPdbViolation(pods: readonly PodInfo[], pdbs: readonly PdbInfo[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.disruptionsAllowed);
  const violating: PodInfo[] = []; const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    let violated = false;
    pdbs.forEach((pdb, i) => {
      if (pdb.namespace !== p.namespace || pdb.selector === undefined || !pdb.selector(p.labels)) return;
      allowed[i] = allowed[i]! - 1;
      if (allowed[i]! < 0) violated = true;
    });
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

export interface Candidate { readonly nodeName: string; readonly victims: readonly PodInfo[]; readonly numPdbViolations: number }

type VictimsResult = { readonly ok: true; readonly candidate: Candidate } | { readonly ok: false; readonly status: Status };

/**
 * Upstream SelectVictimsOnNode: take off every lower-priority pod; if the pod then fits, put
 * them back one by one, most important first (PDB-violating ones before the others), keeping
 * each that still leaves room.
 */
function selectVictimsOnNode(pod: PodInfo, node: NodeInfo, pdbs: readonly PdbInfo[], env: PostFilterEnv): VictimsResult {
  const lower = node.pods.filter((p) => p.priority < pod.priority);
  if (lower.length === 0) return { ok: false, status: { code: 'UnschedulableAndUnresolvable', reasons: [errNoVictims] } };
  const fits = env.fitsWithout(pod, node, lower);
  if (fits.code !== 'Success') return { ok: false, status: fits };
  const sorted = [...lower].sort(byImportance);
  const { violating, nonViolating } = splitByPdbViolation(sorted, pdbs);
  const removed = new Set(lower.map((p) => p.uid));
  const victims: PodInfo[] = [];
  let numPdbViolations = 0;
  const reprieve = (p: PodInfo): boolean => {
    removed.delete(p.uid);
    const s = env.fitsWithout(pod, node, lower.filter((q) => removed.has(q.uid)));
    if (s.code === 'Success') return true;
    removed.add(p.uid);
    victims.push(p);
    return false;
  };
  for (const p of violating) if (!reprieve(p)) numPdbViolations++;
  for (const p of nonViolating) reprieve(p);
  if (victims.length === 0) return { ok: false, status: { code: 'Error', reasons: [`expected at least one victim pod on node "${node.name}"`] } };
  victims.sort(byImportance);
  return { ok: true, candidate: { nodeName: node.name, victims, numPdbViolations } };
}

/** Upstream pickOneNodeForPreemption: each criterion narrows the ties of the one before; then the first. */
export function pickOneNodeForPreemption(candidates: readonly Candidate[]): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const highest = (c: Candidate) => c.victims[0]!.priority;
  // Upstream adds MaxInt32+1 to each priority so that negative priorities still sum upwards.
  const sum = (c: Candidate) => c.victims.reduce((s, v) => s + v.priority + 2147483648, 0);
  const earliestOfTop = (c: Candidate) => {
    const top = highest(c);
    let min = Number.POSITIVE_INFINITY;
    for (const v of c.victims) if (v.priority === top) min = Math.min(min, podStartMs(v));
    return min;
  };
  const criteria: Array<(c: Candidate) => number> = [
    (c) => c.numPdbViolations, highest, sum, (c) => c.victims.length, (c) => -earliestOfTop(c),
  ];
  let left = [...candidates];
  for (const score of criteria) {
    if (left.length === 1) break;
    let best = Number.POSITIVE_INFINITY;
    for (const c of left) best = Math.min(best, score(c));
    left = left.filter((c) => score(c) === best);
  }
  return left[0];
}

function nominatedNodeNameOf(p: PodInfo): string {
  return asString(asRecord(p.pod['status'])?.['nominatedNodeName']) ?? '';
}

export const defaultPreemption: PluginFactory = (args) => {
  const name = 'DefaultPreemption';
  const bad = unknownArgKey(args, ['minCandidateNodesPercentage', 'minCandidateNodesAbsolute']);
  if (bad !== undefined) return refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  const pct = args?.['minCandidateNodesPercentage'] ?? 10;
  const abs = args?.['minCandidateNodesAbsolute'] ?? 100;
  if (typeof pct !== 'number' || !Number.isInteger(pct) || pct < 0 || pct > 100) return refused(name, 'minCandidateNodesPercentage: not in valid range [0, 100]');
  if (typeof abs !== 'number' || !Number.isInteger(abs) || abs < 0) return refused(name, 'minCandidateNodesAbsolute: not in valid range [0, inf)');
  if (pct === 0 && abs === 0) return refused(name, 'minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero');

  const numCandidates = (n: number) => Math.min(n, Math.max(Math.trunc((n * pct) / 100), abs));

  const plugin: PostFilterPlugin = {
    name,
    postFilter: (ctx: PluginContext, pod: PodInfo, failed: ReadonlyMap<string, Status>, env: PostFilterEnv): PostFilterResult => {
      const prefix = (s: Status): PostFilterResult => ({ status: { code: s.code, reasons: [`preemption: ${s.reasons.join(', ')}`] }, nominatedNodeName: '' });
      if (pod.preemptionPolicy === 'Never') return prefix({ code: 'Unschedulable', reasons: ['not eligible due to preemptionPolicy=Never.'] });
      const nominated = ctx.snapshot.get(nominatedNodeNameOf(pod));
      // A preemption already under way for this pod: wait for its victims to go.
      if (nominated !== undefined && nominated.pods.some((p) => p.terminating && p.priority < pod.priority)) {
        return { status: { code: 'Unschedulable', reasons: ['preemption: not eligible due to a terminating pod on the nominated node.'] } };
      }
      const all = ctx.snapshot.nodes;
      const statuses = new Map<string, Status>();
      const potential: NodeInfo[] = [];
      for (const n of all) {
        const s = failed.get(n.name);
        if (s !== undefined && s.code === 'UnschedulableAndUnresolvable') statuses.set(n.name, { code: 'UnschedulableAndUnresolvable', reasons: [errNotHelpful] });
        else potential.push(n);
      }
      const nonViolating: Candidate[] = []; const violating: Candidate[] = [];
      if (potential.length > 0) {
        const offset = env.randomInt(potential.length);
        const want = numCandidates(potential.length);
        for (let i = 0; i < potential.length; i++) {
          const node = potential[(offset + i) % potential.length]!;
          const r = selectVictimsOnNode(pod, node, env.pdbs, env);
          if (!r.ok) { statuses.set(node.name, r.status); continue; }
          (r.candidate.numPdbViolations === 0 ? nonViolating : violating).push(r.candidate);
          if (nonViolating.length > 0 && nonViolating.length + violating.length >= want) break;
        }
      }
      const chosen = pickOneNodeForPreemption([...nonViolating, ...violating]);
      if (chosen === undefined) {
        return prefix({ code: 'Unschedulable', reasons: [fitErrorMessage({ numAllNodes: all.length, filtered: statuses })] });
      }
      return { status: success, nominatedNodeName: chosen.nodeName, victims: chosen.victims };
    },
  };
  return built(plugin);
};
