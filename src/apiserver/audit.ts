/**
 * The apiserver's audit log (kube-apiserver's audit.k8s.io/v1 Events at level Metadata, stage
 * ResponseComplete): who wrote what, when the request arrived and how it ended. It is the
 * independent evidence the chaos checks read — "a fenced controller-manager made no write after
 * its term" is checked here, not from the writer's own counters.
 *
 * Policy: every mutating request (create, update, patch, delete, deletecollection) is recorded,
 * refused or not; reads and watches are not (their volume would push writes out of the ring).
 * Bounded: the newest `capacity` events are kept; `read` says how many were dropped before it.
 */
import { formatRfc3339Micro } from '../api/index.js';
import { assert } from '../primitives/assert.js';
import type { RequestInfo } from './auth/index.js';

export const auditedVerbs: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface AuditEvent {
  readonly kind: 'Event';
  readonly apiVersion: 'audit.k8s.io/v1';
  readonly level: 'Metadata';
  readonly auditID: string;
  readonly stage: 'ResponseComplete';
  readonly requestURI: string;
  readonly verb: string;
  readonly user: { readonly username: string; readonly groups: readonly string[] };
  readonly userAgent: string;
  readonly objectRef: {
    readonly resource: string; readonly namespace?: string; readonly name?: string;
    readonly apiGroup?: string; readonly apiVersion: string; readonly subresource?: string;
  };
  readonly responseStatus: { readonly code: number };
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  /** The same instants as epoch ms of the apiserver's wall clock (for checks; not upstream fields). */
  readonly requestReceivedMs: number;
  readonly stageMs: number;
}

export interface AuditRecord {
  readonly info: RequestInfo;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups: readonly string[] };
  readonly userAgent: string;
  readonly code: number;
  readonly receivedMs: number;
  readonly completedMs: number;
}

export interface AuditPage {
  readonly events: readonly AuditEvent[];
  /** Pass as `afterSeq` to read what follows. */
  readonly nextSeq: number;
  /** Events pushed out of the ring before they could be read from `afterSeq`. */
  readonly dropped: number;
}

const defaultAuditCapacity = 20_000;
/** Events returned by one `read` at most (an actor message stays small). */
const maxAuditPage = 5_000;

export class AuditLog {
  private readonly ring: AuditEvent[] = [];
  /** Sequence number of ring[0]; sequence numbers start at 1. */
  private firstSeq = 1;
  private recorded = 0;

  /** `idPrefix` makes audit IDs unique across apiservers (a counter, so seeded runs stay seeded). */
  constructor(private readonly idPrefix = 'apiserver', private readonly capacity = defaultAuditCapacity) {
    assert(capacity > 0, 'audit capacity must be positive');
  }

  record(r: AuditRecord): void {
    if (!auditedVerbs.has(r.info.verb)) return;
    const i = r.info;
    this.ring.push({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `${this.idPrefix}-${++this.recorded}`, stage: 'ResponseComplete',
      requestURI: r.requestURI, verb: i.verb, user: r.user, userAgent: r.userAgent,
      objectRef: {
        resource: i.resource, apiVersion: i.apiVersion,
        ...(i.namespace === '' ? {} : { namespace: i.namespace }), ...(i.name === '' ? {} : { name: i.name }),
        ...(i.apiGroup === '' ? {} : { apiGroup: i.apiGroup }), ...(i.subresource === '' ? {} : { subresource: i.subresource }),
      },
      responseStatus: { code: r.code },
      requestReceivedTimestamp: formatRfc3339Micro(r.receivedMs), stageTimestamp: formatRfc3339Micro(r.completedMs),
      requestReceivedMs: r.receivedMs, stageMs: r.completedMs,
    });
    if (this.ring.length > this.capacity) {
      this.ring.shift();
      this.firstSeq++;
    }
  }

  /** Events with sequence number > afterSeq (0: from the oldest kept), at most `limit`. */
  read(afterSeq = 0, limit = maxAuditPage): AuditPage {
    const from = Math.max(afterSeq + 1, this.firstSeq);
    const dropped = from - (afterSeq + 1);
    const events = this.ring.slice(from - this.firstSeq, from - this.firstSeq + Math.min(limit, maxAuditPage));
    return { events, nextSeq: from + events.length - 1, dropped };
  }
}
