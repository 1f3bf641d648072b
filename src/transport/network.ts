import type { Address } from '../primitives/address.js';
import type { Prng } from '../primitives/prng.js';

/**
 * The one relay's rules. Every message between actors passes a `NetworkModel` (one instance per
 * thread, all holding the same `NetworkConfig`, or one for a whole simulation). It decides per
 * message whether it is delivered, after what delay and how many times, and counts everything.
 *
 * Faults act on links between different hosts; a host's own loopback is never faulted (actors on
 * one machine keep talking to each other while its network cable is cut).
 */
export type DelaySpec =
  | { readonly dist: 'fixed'; readonly ms: number }
  | { readonly dist: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly dist: 'normal'; readonly meanMs: number; readonly jitterMs: number };

/** Which links a fault acts on: from-hosts, to-hosts, message types; omitted = any. */
export interface LinkSelector {
  readonly from?: readonly string[];
  readonly to?: readonly string[];
  readonly types?: readonly string[];
}

export type FaultSpec =
  | { readonly kind: 'drop'; readonly link?: LinkSelector; readonly probability: number }
  | { readonly kind: 'delay'; readonly link?: LinkSelector; readonly delay: DelaySpec }
  | { readonly kind: 'duplicate'; readonly link?: LinkSelector; readonly probability: number }
  | { readonly kind: 'reorder'; readonly link?: LinkSelector; readonly probability: number; readonly windowMs: number }
  /** Hosts in different groups cannot reach each other (both directions); unlisted hosts are unaffected. */
  | { readonly kind: 'partition'; readonly groups: readonly (readonly string[])[] }
  /** One-way cut: messages from `from` hosts to `to` hosts vanish; the reverse direction still works. */
  | { readonly kind: 'cut'; readonly from: readonly string[]; readonly to: readonly string[] };

export type FaultId = number;

export interface ActiveFault {
  readonly id: FaultId;
  readonly spec: FaultSpec;
}

/** Everything every thread's relay must agree on. Versioned so that a stale copy is never applied. */
export interface NetworkConfig {
  readonly version: number;
  readonly faults: readonly ActiveFault[];
  /** Hosts that are down (killed): messages to them vanish. */
  readonly downHosts: readonly string[];
}

const EMPTY_NETWORK: NetworkConfig = { version: 0, faults: [], downHosts: [] };

/** Why a message was not delivered. */
export type LossReason = 'down' | 'cut' | 'drop';

export type Routing =
  | { readonly deliver: false; readonly reason: LossReason }
  /** One delay per copy (more than one: duplicated); 0 means now. */
  | { readonly deliver: true; readonly delaysMs: readonly number[] };

const NOW: Routing = { deliver: true, delaysMs: [0] };
const DOWN: Routing = { deliver: false, reason: 'down' };
const CUT: Routing = { deliver: false, reason: 'cut' };
const DROP: Routing = { deliver: false, reason: 'drop' };

const MAX_DELAY_MS = 60_000;

function validateFault(spec: FaultSpec): string | undefined {
  const probability = (p: number) => (p >= 0 && p <= 1 ? undefined : `probability must be within [0, 1], got ${p}`);
  switch (spec.kind) {
    case 'drop':
    case 'duplicate':
      return probability(spec.probability);
    case 'reorder':
      return probability(spec.probability) ?? (spec.windowMs > 0 && spec.windowMs <= MAX_DELAY_MS ? undefined : `reorder window must be within (0, ${MAX_DELAY_MS}] ms`);
    case 'delay':
      return validateDelay(spec.delay);
    case 'partition': {
      const seen = new Set<string>();
      for (const group of spec.groups) {
        for (const host of group) {
          if (seen.has(host)) return `host ${host} is in more than one partition group`;
          seen.add(host);
        }
      }
      return spec.groups.length >= 2 ? undefined : 'a partition needs at least two groups';
    }
    case 'cut':
      return spec.from.length > 0 && spec.to.length > 0 ? undefined : 'a cut needs from and to hosts';
    default: {
      const unreachable: never = spec;
      return `unknown fault ${JSON.stringify(unreachable)}`;
    }
  }
}

function validateDelay(delay: DelaySpec): string | undefined {
  const inRange = (ms: number) => ms >= 0 && ms <= MAX_DELAY_MS;
  switch (delay.dist) {
    case 'fixed':
      return inRange(delay.ms) ? undefined : `delay must be within [0, ${MAX_DELAY_MS}] ms`;
    case 'uniform':
      return inRange(delay.minMs) && inRange(delay.maxMs) && delay.minMs <= delay.maxMs ? undefined : 'uniform delay needs 0 <= minMs <= maxMs';
    case 'normal':
      return inRange(delay.meanMs) && inRange(delay.jitterMs) ? undefined : 'normal delay needs meanMs and jitterMs within range';
    default: {
      const unreachable: never = delay;
      return `unknown delay ${JSON.stringify(unreachable)}`;
    }
  }
}

function sampleDelay(delay: DelaySpec, random: Prng): number {
  switch (delay.dist) {
    case 'fixed':
      return delay.ms;
    case 'uniform':
      return random.between(delay.minMs, delay.maxMs);
    case 'normal':
      return Math.min(MAX_DELAY_MS, Math.max(0, random.normal(delay.meanMs, delay.jitterMs)));
    default: {
      const unreachable: never = delay;
      throw new Error(`unknown delay ${JSON.stringify(unreachable)}`);
    }
  }
}

function matches(link: LinkSelector | undefined, fromHost: string, toHost: string, type: string): boolean {
  if (!link) return true;
  if (link.from && !link.from.includes(fromHost)) return false;
  if (link.to && !link.to.includes(toHost)) return false;
  if (link.types && !link.types.includes(type)) return false;
  return true;
}

/** Counters per link (`from>to`) and per message type. */
export interface LinkCounters {
  sent: number;
  delivered: number;
  dropped: number;
  cut: number;
  down: number;
  duplicated: number;
  delayed: number;
}

export type NetworkStats = Record<string, Record<string, LinkCounters>>;

function emptyCounters(): LinkCounters {
  return { sent: 0, delivered: 0, dropped: 0, cut: 0, down: 0, duplicated: 0, delayed: 0 };
}

export function mergeStats(parts: readonly NetworkStats[]): NetworkStats {
  const merged: NetworkStats = {};
  for (const part of parts) {
    for (const [link, byType] of Object.entries(part)) {
      const target = (merged[link] ??= {});
      for (const [type, counters] of Object.entries(byType)) {
        const into = (target[type] ??= emptyCounters());
        for (const key of Object.keys(counters) as (keyof LinkCounters)[]) into[key] += counters[key];
      }
    }
  }
  return merged;
}

/** Sum of counters over every link and type (or those matching a filter). */
export function totalStats(stats: NetworkStats, filter?: (link: string, type: string) => boolean): LinkCounters {
  const total = emptyCounters();
  for (const [link, byType] of Object.entries(stats)) {
    for (const [type, counters] of Object.entries(byType)) {
      if (filter && !filter(link, type)) continue;
      for (const key of Object.keys(counters) as (keyof LinkCounters)[]) total[key] += counters[key];
    }
  }
  return total;
}

export interface TraceEvent {
  readonly atMs: number;
  readonly from: Address;
  readonly to: Address;
  readonly type: string;
  /** 'send' when routed (with the copies' delays), 'lost' with a reason, 'deliver' on arrival. */
  readonly event: 'send' | 'lost' | 'deliver';
  readonly detail: string;
}

/** Bound on trace events kept per relay (oldest dropped first). */
export const DEFAULT_TRACE_LIMIT = 100_000;

export class NetworkModel {
  private config: NetworkConfig = EMPTY_NETWORK;
  private down = new Set<string>();
  private partitionGroups: Map<string, number>[] = [];
  private oneWayCuts = new Set<string>();
  private probabilistic: ActiveFault[] = [];
  /** from-host → to-host → message type → counters (nested maps: no string building per message). */
  private readonly stats = new Map<string, Map<string, Map<string, LinkCounters>>>();
  private trace: TraceEvent[] = [];
  private traceStart = 0;

  constructor(
    private readonly random: Prng,
    private readonly traceLimit = 0,
  ) {}

  get version(): number {
    return this.config.version;
  }

  get current(): NetworkConfig {
    return this.config;
  }

  /** Adopt a configuration; older versions than the one held are ignored (they arrived late). */
  apply(config: NetworkConfig): void {
    if (config.version < this.config.version) return;
    this.config = config;
    this.down = new Set(config.downHosts);
    this.partitionGroups = [];
    this.oneWayCuts = new Set();
    this.probabilistic = [];
    for (const fault of config.faults) {
      const spec = fault.spec;
      if (spec.kind === 'partition') {
        const groupOf = new Map<string, number>();
        spec.groups.forEach((group, index) => group.forEach((host) => groupOf.set(host, index)));
        this.partitionGroups.push(groupOf);
      } else if (spec.kind === 'cut') {
        for (const from of spec.from) for (const to of spec.to) this.oneWayCuts.add(`${from}>${to}`);
      } else {
        this.probabilistic.push(fault);
      }
    }
  }

  isCut(fromHost: string, toHost: string): boolean {
    if (fromHost === toHost || this.config.faults.length === 0) return false;
    if (this.oneWayCuts.has(`${fromHost}>${toHost}`)) return true;
    for (const groupOf of this.partitionGroups) {
      const a = groupOf.get(fromHost);
      const b = groupOf.get(toHost);
      if (a !== undefined && b !== undefined && a !== b) return true;
    }
    return false;
  }

  /** Decide the fate of one message and count it. */
  route(fromHost: string, toHost: string, type: string): Routing {
    return this.routeFrom(fromHost, toHost, type, false);
  }

  /**
   * Decide the fate of the resets a host sent as it died (`PeerDownNotice`): routed as if the
   * host were still up, so partitions, cuts, drops and delays apply to them as to any packet.
   */
  routeReset(fromHost: string, toHost: string, type: string): Routing {
    return this.routeFrom(fromHost, toHost, type, true);
  }

  private routeFrom(fromHost: string, toHost: string, type: string, senderJustDied: boolean): Routing {
    const counters = this.counters(fromHost, toHost, type);
    counters.sent++;
    if (this.down.size > 0 && (this.down.has(toHost) || (this.down.has(fromHost) && !senderJustDied))) {
      counters.down++;
      return DOWN;
    }
    if (fromHost === toHost || (this.probabilistic.length === 0 && !this.isCut(fromHost, toHost))) {
      counters.delivered++;
      return NOW;
    }
    if (this.isCut(fromHost, toHost)) {
      counters.cut++;
      return CUT;
    }
    const routing = this.applyProbabilistic(fromHost, toHost, type);
    if (routing.deliver) {
      counters.delivered += routing.delaysMs.length;
      if (routing.delaysMs.length > 1) counters.duplicated += routing.delaysMs.length - 1;
      if (routing.delaysMs.some((ms) => ms > 0)) counters.delayed++;
    } else {
      counters.dropped++;
    }
    return routing;
  }

  private applyProbabilistic(fromHost: string, toHost: string, type: string): Routing {
    let delayMs = 0;
    let copies = 1;
    let extraHoldMs = 0;
    for (const { spec } of this.probabilistic) {
      if (spec.kind === 'partition' || spec.kind === 'cut') continue;
      if (!matches(spec.link, fromHost, toHost, type)) continue;
      switch (spec.kind) {
        case 'drop':
          if (this.random.next() < spec.probability) return DROP;
          break;
        case 'delay':
          delayMs += sampleDelay(spec.delay, this.random);
          break;
        case 'duplicate':
          if (this.random.next() < spec.probability) copies++;
          break;
        case 'reorder':
          // Holding a message back a random while lets the ones sent after it overtake it.
          if (this.random.next() < spec.probability) extraHoldMs += this.random.between(0, spec.windowMs);
          break;
        default: {
          const unreachable: never = spec;
          throw new Error(`unknown fault ${JSON.stringify(unreachable)}`);
        }
      }
    }
    if (copies === 1 && delayMs === 0 && extraHoldMs === 0) return NOW;
    const delaysMs: number[] = [delayMs + extraHoldMs];
    for (let i = 1; i < copies; i++) delaysMs.push(delayMs + this.random.between(0, Math.max(1, delayMs)));
    return { deliver: true, delaysMs };
  }

  private counters(fromHost: string, toHost: string, type: string): LinkCounters {
    let byTo = this.stats.get(fromHost);
    if (!byTo) {
      byTo = new Map();
      this.stats.set(fromHost, byTo);
    }
    let byType = byTo.get(toHost);
    if (!byType) {
      byType = new Map();
      byTo.set(toHost, byType);
    }
    let counters = byType.get(type);
    if (!counters) {
      counters = emptyCounters();
      byType.set(type, counters);
    }
    return counters;
  }

  snapshotStats(): NetworkStats {
    const out: NetworkStats = {};
    for (const [fromHost, byTo] of this.stats) {
      for (const [toHost, byType] of byTo) {
        const entry: Record<string, LinkCounters> = {};
        for (const [type, counters] of byType) entry[type] = { ...counters };
        out[`${fromHost}>${toHost}`] = entry;
      }
    }
    return out;
  }

  resetStats(): void {
    this.stats.clear();
  }

  get tracing(): boolean {
    return this.traceLimit > 0;
  }

  record(event: TraceEvent): void {
    if (this.traceLimit === 0) return;
    this.trace.push(event);
    if (this.trace.length - this.traceStart > this.traceLimit) this.traceStart++;
    if (this.traceStart > 4096 && this.traceStart * 2 > this.trace.length) {
      this.trace = this.trace.slice(this.traceStart);
      this.traceStart = 0;
    }
  }

  traceEvents(): TraceEvent[] {
    return this.trace.slice(this.traceStart);
  }
}

/**
 * The supervisor's fault table: the source of truth every relay's copy is made from. Each change
 * produces a new, higher-versioned `NetworkConfig`.
 */
export class FaultTable {
  private faults: ActiveFault[] = [];
  private down = new Set<string>();
  private version = 0;
  private nextId = 1;

  inject(spec: FaultSpec): { id: FaultId; config: NetworkConfig } {
    const problem = validateFault(spec);
    if (problem) throw new Error(`invalid ${spec.kind} fault: ${problem}`);
    const id = this.nextId++;
    this.faults = [...this.faults, { id, spec }];
    return { id, config: this.bump() };
  }

  heal(id: FaultId): NetworkConfig {
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.bump();
  }

  healAll(): NetworkConfig {
    this.faults = [];
    return this.bump();
  }

  setHostDown(host: string, down: boolean): NetworkConfig {
    if (down) this.down.add(host);
    else this.down.delete(host);
    return this.bump();
  }

  config(): NetworkConfig {
    return { version: this.version, faults: this.faults, downHosts: [...this.down].sort() };
  }

  private bump(): NetworkConfig {
    this.version++;
    return this.config();
  }
}
