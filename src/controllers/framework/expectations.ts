/**
 * Controller expectations (pkg/controller/controller_utils.go ControllerExpectations and
 * UIDTrackingControllerExpectations): after a reconcile asks for N creates and deletes of keys
 * K, the controller does not manage replicas again until the watch has shown them, so a slow
 * watch never causes double creates or double deletes. A record older than the timeout counts
 * as satisfied (a lost event must not wedge the controller). Pure: time is a parameter.
 * The shell owns one instance per controller; reconciles read it through `ExpectationsView`.
 */
import type { ExpectationOnFailure, ExpectationsUpdate, ExpectationsView, Observation } from './types.js';

/** Upstream ExpectationsTimeout. */
const expectationsTimeoutMs = 5 * 60 * 1000;
/** Records kept at most (one per controller object; a limit on everything). */
const maxExpectationRecords = 1_000_000;

interface Record {
  adds: number;
  readonly deleteKeys: Set<string>;
  readonly setAtMs: number;
}

export class Expectations implements ExpectationsView {
  private readonly records = new Map<string, Record>();

  constructor(private readonly timeoutMs = expectationsTimeoutMs) {}

  satisfied(controllerKey: string, nowMs: number): boolean {
    const r = this.records.get(controllerKey);
    if (r === undefined) return true;
    if (r.adds <= 0 && r.deleteKeys.size === 0) return true;
    return nowMs - r.setAtMs > this.timeoutMs;
  }

  /** Outstanding counts, for tests and metrics. */
  pending(controllerKey: string): { adds: number; deletes: number } | undefined {
    const r = this.records.get(controllerKey);
    return r === undefined ? undefined : { adds: Math.max(0, r.adds), deletes: r.deleteKeys.size };
  }

  set(update: ExpectationsUpdate, nowMs: number): void {
    if (!(update.adds >= 0)) throw new Error(`expected adds must be >= 0, got ${update.adds}`);
    if (!this.records.has(update.controllerKey) && this.records.size >= maxExpectationRecords) {
      throw new Error(`more than ${maxExpectationRecords} expectation records`);
    }
    this.records.set(update.controllerKey, { adds: update.adds, deleteKeys: new Set(update.deleteKeys), setAtMs: nowMs });
  }

  observe(o: Observation): void {
    switch (o.kind) {
      case 'creation': {
        const r = this.records.get(o.controllerKey);
        if (r !== undefined) r.adds--;
        return;
      }
      case 'deletion':
        this.records.get(o.controllerKey)?.deleteKeys.delete(o.objectKey);
        return;
      case 'forget':
        this.records.delete(o.controllerKey);
        return;
      default: {
        const never: never = o;
        throw new Error(`observation ${String(never)}`);
      }
    }
  }

  /** A create or delete that failed (or was skipped) will never be observed: stop waiting for it. */
  actionFailed(f: ExpectationOnFailure): void {
    this.observe(f);
  }
}
