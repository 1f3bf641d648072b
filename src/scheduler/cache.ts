/**
 * The scheduler cache (upstream internal/cache): nodes with the pods on them, including pods the
 * scheduler has *assumed* onto a node before the binding is confirmed. Binding is asynchronous, so
 * an assumed pod counts against its node at once; it is confirmed when the informer reports it
 * bound, forgotten when the binding fails, and expired if never confirmed within the TTL after
 * its binding finished. A snapshot per cycle gives plugins a consistent view; only nodes whose
 * generation moved are copied.
 */
import type { KubeObject } from '../api/index.js';
import { addPodToNode, cloneNodeInfo, newNodeInfo, removePodFromNode, setNode } from './podinfo.js';
import type { NodeInfo, PodInfo, SnapshotView } from './types.js';

interface PodState {
  pod: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
  deadlineMs: number | undefined;
}

const maxCachedNodes = 50_000;
const maxCachedPods = 1_000_000;

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly podStates = new Map<string, PodState>();
  private generation = 0;
  /** Bumped when the node set changes (the snapshot's list order is rebuilt). */
  private nodeSetVersion = 0;
  private readonly namespaces = new Map<string, Readonly<Record<string, string>>>();

  /** `assumedTtlMs` 0: assumed pods never expire (upstream's current default). */
  constructor(private readonly assumedTtlMs = 30_000) {}

  /**
   * (generation, node) for every bump, in generation order: a snapshot copies only the nodes
   * logged after its own generation (upstream keeps a generation-ordered list for the same reason).
   */
  private changes: Array<{ readonly gen: number; readonly name: string }> = [];

  private bump(info: NodeInfo): void {
    info.generation = ++this.generation;
    this.changes.push({ gen: info.generation, name: info.name });
    // Compact to one entry per node (its latest) once the log is much longer than the node set.
    if (this.changes.length > 4 * this.nodes.size + 1024) {
      const latest = new Map<string, number>();
      for (const c of this.changes) latest.set(c.name, c.gen);
      this.changes = [...latest].map(([name, gen]) => ({ gen, name })).sort((a, b) => a.gen - b.gen);
    }
  }

  private nodeFor(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (info === undefined) {
      // A pod may arrive before its node: keep an empty placeholder (upstream does the same).
      info = newNodeInfo({ metadata: { name } });
      (info as { placeholder?: boolean }).placeholder = true;
      this.nodes.set(name, info);
    }
    return info;
  }

  addNode(node: KubeObject): void {
    const name = node.metadata?.name ?? '';
    const existing = this.nodes.get(name);
    if (existing !== undefined) {
      const wasPlaceholder = (existing as { placeholder?: boolean }).placeholder === true;
      const zoneBefore = zoneOf(existing.labels);
      setNode(existing, node);
      delete (existing as { placeholder?: boolean }).placeholder;
      this.bump(existing);
      // The snapshot's node order depends only on the node set and zones: an ordinary update is incremental.
      if (wasPlaceholder || zoneOf(existing.labels) !== zoneBefore) this.nodeSetVersion++;
      return;
    }
    if (this.nodes.size >= maxCachedNodes) throw new Error(`scheduler cache: more than ${maxCachedNodes} nodes`);
    const info = newNodeInfo(node);
    this.bump(info);
    this.nodes.set(name, info);
    this.nodeSetVersion++;
  }

  updateNode(node: KubeObject): void { this.addNode(node); }

  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (info === undefined) return;
    if (info.pods.length === 0) this.nodes.delete(name);
    else { setNode(info, { metadata: { name } }); (info as { placeholder?: boolean }).placeholder = true; this.bump(info); }
    this.nodeSetVersion++;
  }

  setNamespace(name: string, labels: Readonly<Record<string, string>> | undefined): void {
    if (labels === undefined) this.namespaces.delete(name); else this.namespaces.set(name, labels);
  }

  private place(p: PodInfo, nodeName: string): void {
    const info = this.nodeFor(nodeName);
    addPodToNode(info, p);
    this.bump(info);
  }

  private unplace(uid: string, nodeName: string): void {
    const info = this.nodes.get(nodeName);
    if (info === undefined) return;
    removePodFromNode(info, uid);
    this.bump(info);
    if (info.pods.length === 0 && (info as { placeholder?: boolean }).placeholder === true) { this.nodes.delete(nodeName); this.nodeSetVersion++; }
  }

  /** Counts `p` on `nodeName` before its binding is confirmed. */
  assumePod(p: PodInfo, nodeName: string): void {
    if (this.podStates.has(p.uid)) throw new Error(`scheduler cache: pod ${p.key} (${p.uid}) is already in the cache`);
    if (this.podStates.size >= maxCachedPods) throw new Error(`scheduler cache: more than ${maxCachedPods} pods`);
    this.podStates.set(p.uid, { pod: p, nodeName, assumed: true, bindingFinished: false, deadlineMs: undefined });
    this.place(p, nodeName);
  }

  /** The binding call returned: start the expiry clock. */
  finishBinding(uid: string, nowMs: number): void {
    const s = this.podStates.get(uid);
    if (s === undefined || !s.assumed) return;
    s.bindingFinished = true;
    s.deadlineMs = this.assumedTtlMs > 0 ? nowMs + this.assumedTtlMs : undefined;
  }

  /** The binding failed: take the assumed pod off its node. */
  forgetPod(uid: string): void {
    const s = this.podStates.get(uid);
    if (s === undefined || !s.assumed) return;
    this.podStates.delete(uid);
    this.unplace(uid, s.nodeName);
  }

  isAssumed(uid: string): boolean { return this.podStates.get(uid)?.assumed === true; }

  /** Assumed or bound: the pod has a node in this cache (a stale pending copy must not be queued again). */
  hasPod(uid: string): boolean { return this.podStates.has(uid); }

  /** An informer saw a bound pod: confirms an assumed one (moving it if it landed elsewhere). */
  addPod(p: PodInfo): void {
    const s = this.podStates.get(p.uid);
    if (s !== undefined) {
      this.unplace(p.uid, s.nodeName);
      s.pod = p; s.nodeName = p.nodeName; s.assumed = false; s.deadlineMs = undefined;
      this.place(p, p.nodeName);
      return;
    }
    if (this.podStates.size >= maxCachedPods) throw new Error(`scheduler cache: more than ${maxCachedPods} pods`);
    this.podStates.set(p.uid, { pod: p, nodeName: p.nodeName, assumed: false, bindingFinished: true, deadlineMs: undefined });
    this.place(p, p.nodeName);
  }

  updatePod(p: PodInfo): void { this.addPod(p); }

  removePod(uid: string): void {
    const s = this.podStates.get(uid);
    if (s === undefined) return;
    this.podStates.delete(uid);
    this.unplace(uid, s.nodeName);
  }

  /** Drops assumed pods whose binding finished longer than the TTL ago; returns them. */
  cleanupExpired(nowMs: number): PodInfo[] {
    const expired: PodInfo[] = [];
    for (const [uid, s] of this.podStates) {
      if (s.assumed && s.bindingFinished && s.deadlineMs !== undefined && nowMs >= s.deadlineMs) {
        expired.push(s.pod);
        this.podStates.delete(uid);
        this.unplace(uid, s.nodeName);
      }
    }
    return expired;
  }

  nodeCount(): number { let n = 0; for (const i of this.nodes.values()) if ((i as { placeholder?: boolean }).placeholder !== true) n++; return n; }
  podCount(): number { return this.podStates.size; }

  /** Brings `snap` up to date (copies only nodes changed since its last update). */
  updateSnapshot(snap: Snapshot): void {
    if (snap.nodeSetVersion === this.nodeSetVersion && snap.generation <= this.generation) {
      this.updateSnapshotIncrementally(snap);
      return;
    }
    this.rebuildSnapshot(snap);
    snap.generation = this.generation;
  }

  private updateSnapshotIncrementally(snap: Snapshot): void {
    // First change after the snapshot's generation (the log is sorted by generation).
    let lo = 0; let hi = this.changes.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.changes[mid]!.gen <= snap.generation) lo = mid + 1; else hi = mid; }
    const changed: NodeInfo[] = [];
    const seen = new Set<string>();
    for (let i = lo; i < this.changes.length; i++) {
      const name = this.changes[i]!.name;
      if (seen.has(name)) continue;
      seen.add(name);
      const info = this.nodes.get(name);
      if (info === undefined || (info as { placeholder?: boolean }).placeholder === true) continue;
      const have = snap.byName.get(name);
      if (have === undefined || have.generation !== info.generation) changed.push(cloneNodeInfo(info));
    }
    snap.replaceNodes(changed, this.namespaces);
    snap.generation = this.generation;
  }

  private rebuildSnapshot(snap: Snapshot): void {
    const rebuild = snap.nodeSetVersion !== this.nodeSetVersion;
    for (const [name, info] of this.nodes) {
      if ((info as { placeholder?: boolean }).placeholder === true) { snap.byName.delete(name); continue; }
      const have = snap.byName.get(name);
      if (have === undefined || have.generation !== info.generation) snap.byName.set(name, cloneNodeInfo(info));
    }
    if (rebuild) {
      for (const name of [...snap.byName.keys()]) {
        const info = this.nodes.get(name);
        if (info === undefined || (info as { placeholder?: boolean }).placeholder === true) snap.byName.delete(name);
      }
    }
    // The cache's own node order (addition order), so every snapshot orders nodes alike.
    snap.rebuildLists(rebuild, this.namespaces, this.nodes.keys());
    snap.nodeSetVersion = this.nodeSetVersion;
  }
}

const zoneLabel = 'topology.kubernetes.io/zone';
const regionLabel = 'topology.kubernetes.io/region';
const zoneOf = (labels: Readonly<Record<string, string>>): string => `${labels[regionLabel] ?? ''}:${labels[zoneLabel] ?? ''}`;

/** A per-cycle view. Node order interleaves zones (upstream nodeTree) so early stops spread. */
export class Snapshot implements SnapshotView {
  readonly byName = new Map<string, NodeInfo>();
  nodeSetVersion = -1;
  /** The cache generation this snapshot reflects. */
  generation = 0;
  private indexOf = new Map<string, number>();
  private order: string[] = [];
  nodes: NodeInfo[] = [];
  havePodsWithAffinity: NodeInfo[] = [];
  havePodsWithRequiredAntiAffinity: NodeInfo[] = [];
  private nsLabels: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map();
  private imageCounts: Map<string, number> | undefined;

  get(name: string): NodeInfo | undefined { return this.byName.get(name); }
  namespaceLabels(ns: string): Readonly<Record<string, string>> { return this.nsLabels.get(ns) ?? {}; }

  imageNodeCount(image: string): number {
    if (this.imageCounts === undefined) {
      this.imageCounts = new Map();
      for (const n of this.nodes) for (const img of n.images.keys()) this.imageCounts.set(img, (this.imageCounts.get(img) ?? 0) + 1);
    }
    return this.imageCounts.get(image) ?? 0;
  }

  rebuildLists(reorder: boolean, namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>, names: Iterable<string> = this.byName.keys()): void {
    this.nsLabels = namespaces;
    if (reorder) {
      const zones = new Map<string, string[]>();
      for (const name of names) {
        const n = this.byName.get(name);
        if (n === undefined) continue;
        const z = `${n.labels[regionLabel] ?? ''}:${n.labels[zoneLabel] ?? ''}`;
        let list = zones.get(z);
        if (list === undefined) zones.set(z, list = []);
        list.push(n.name);
      }
      const lists = [...zones.keys()].sort().map((z) => zones.get(z)!);
      this.order = [];
      const total = lists.reduce((a, l) => a + l.length, 0);
      if (total !== this.byName.size) throw new Error(`snapshot: ${this.byName.size} nodes but ${total} in the order`);
      for (let i = 0; this.order.length < total; i++) for (const l of lists) if (i < l.length) this.order.push(l[i]!);
      this.imageCounts = undefined;
    }
    this.nodes = this.order.map((n) => this.byName.get(n)!);
    this.indexOf = new Map(this.order.map((n, i) => [n, i]));
    this.imageCounts = undefined;
    this.rebuildAffinityLists();
  }

  private rebuildAffinityLists(): void {
    this.havePodsWithAffinity = this.nodes.filter((n) => n.podsWithAffinity.length > 0);
    this.havePodsWithRequiredAntiAffinity = this.nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
  }

  /** Swaps in fresh copies of changed nodes, keeping the order (the node set is unchanged). */
  replaceNodes(changed: readonly NodeInfo[], namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>): void {
    this.nsLabels = namespaces;
    let affinityMoved = false;
    for (const info of changed) {
      const i = this.indexOf.get(info.name);
      const old = this.byName.get(info.name);
      if (i === undefined || old === undefined) throw new Error(`snapshot: node ${info.name} is not in the node set`);
      if (old.podsWithAffinity.length + old.podsWithRequiredAntiAffinity.length + info.podsWithAffinity.length + info.podsWithRequiredAntiAffinity.length > 0) affinityMoved = true;
      if (this.imageCounts !== undefined && (old.images.size > 0 || info.images.size > 0)) {
        for (const img of old.images.keys()) this.imageCounts.set(img, (this.imageCounts.get(img) ?? 1) - 1);
        for (const img of info.images.keys()) this.imageCounts.set(img, (this.imageCounts.get(img) ?? 0) + 1);
      }
      this.byName.set(info.name, info);
      this.nodes[i] = info;
    }
    if (affinityMoved) this.rebuildAffinityLists();
  }
}

/** A snapshot built directly from objects (what-if, tests). */
export function snapshotOf(nodes: readonly KubeObject[], pods: readonly PodInfo[], namespaces: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map()): Snapshot {
  const cache = new SchedulerCache(0);
  for (const n of nodes) cache.addNode(n);
  for (const p of pods) if (p.nodeName !== '') cache.addPod(p);
  for (const [ns, labels] of namespaces) cache.setNamespace(ns, labels);
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  return snap;
}
