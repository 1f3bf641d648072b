/**
 * meta.k8s.io/v1 Table rendering for `kubectl get`, cell for cell like the printers in
 * kubernetes/pkg/printers/internalversion. The server always returns the wide columns
 * (priority 1); kubectl hides them without `-o wide`.
 */
import type { ResourceInfo } from './resources.js';
import { labelSelectorFromObject, labelSelectorToString } from './selectors.js';
import { ageSince, humanDuration, parseRfc3339 } from './time.js';
import { asArray, asNumber, asRecord, isRecord, type JsonObject } from './types.js';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: 0 | 1;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  nowMs: number;
  /** The list's (or watch event's) resourceVersion; kubectl `get -w` needs it. */
  resourceVersion: string;
  includeObject?: IncludeObject;
  /** Watch events after the first carry no column definitions (the apiserver's NoHeaders). */
  noHeaders?: boolean;
}

type Cell = string | number | boolean;
type Printer = (o: JsonObject, nowMs: number) => Cell[];

const col = (name: string, type: ColumnDefinition['type'], description: string, priority: 0 | 1 = 0, format = ''): ColumnDefinition =>
  ({ name, type, format, description, priority });

const nameCol = col('Name', 'string', 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', 0, 'name');
const ageCol = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.');
const containersCol = col('Containers', 'string', 'Names of each container in the template.', 1);
const imagesCol = col('Images', 'string', 'Images referenced by each container in the template.', 1);
const selectorCol = col('Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1);

const rec = (o: unknown, ...path: string[]): JsonObject => {
  let cur: unknown = o;
  for (const k of path) cur = asRecord(cur)?.[k];
  return asRecord(cur) ?? {};
};
const str = (v: unknown, dflt = ''): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : dflt);
const int = (v: unknown): number => asNumber(v) ?? 0;
const name = (o: JsonObject): string => str(rec(o, 'metadata')['name']);
const age = (o: JsonObject, now: number): string => ageSince(rec(o, 'metadata')['creationTimestamp'], now);
const orNone = (s: string): string => (s === '' ? '<none>' : s);

function labelsString(m: unknown): string {
  const r = asRecord(m) ?? {};
  return Object.keys(r).sort().map((k) => `${k}=${str(r[k])}`).join(',');
}

function templateContainers(o: JsonObject): [string, string] {
  const cs = asArray(rec(o, 'spec', 'template', 'spec')['containers']).filter(isRecord);
  return [cs.map((c) => str(c['name'])).join(','), cs.map((c) => str(c['image'])).join(',')];
}

function formatSelector(sel: unknown): string {
  const r = labelSelectorFromObject(sel);
  if (!r.ok || r.value === 'nothing') return '<none>';
  return orNone(labelSelectorToString(r.value));
}

const selectorString = (o: JsonObject): string => formatSelector(rec(o, 'spec')['selector']);

// ---------------------------------------------------------------------------------------------
// Pods

function isRestartableInit(c: JsonObject | undefined): boolean {
  return c !== undefined && c['restartPolicy'] === 'Always';
}

function terminatedReason(t: JsonObject, prefix: string): string {
  const reason = str(t['reason']);
  if (reason !== '') return prefix + reason;
  const signal = int(t['signal']);
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${int(t['exitCode'])}`;
}

function laterOf(a: number | undefined, ts: unknown): number | undefined {
  const t = typeof ts === 'string' ? parseRfc3339(ts) : undefined;
  if (t === undefined) return a;
  return a === undefined || t > a ? t : a;
}

const conditionTrue = (o: JsonObject, type: string): boolean =>
  asArray(rec(o, 'status')['conditions']).some((c) => isRecord(c) && c['type'] === type && c['status'] === 'True');

/** kubectl's pod READY / STATUS / RESTARTS computation (printPod). */
export function podStatusSummary(pod: JsonObject, nowMs: number): { ready: string; status: string; restarts: string } {
  const spec = rec(pod, 'spec');
  const status = rec(pod, 'status');
  const initSpecs = new Map(asArray(spec['initContainers']).filter(isRecord).map((c) => [str(c['name']), c]));
  const total = asArray(spec['containers']).length + [...initSpecs.values()].filter(isRestartableInit).length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  const phase = str(status['phase']);
  let reason = str(status['reason']) !== '' ? str(status['reason']) : phase;
  if (asArray(status['conditions']).some((c) => isRecord(c) && c['type'] === 'PodScheduled' && c['reason'] === 'SchedulingGated')) reason = 'SchedulingGated';

  let initializing = false;
  const initStatuses = asArray(status['initContainerStatuses']).filter(isRecord);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] ?? {};
    const state = rec(cs, 'state');
    const lastTerm = rec(cs, 'lastState', 'terminated');
    restarts += int(cs['restartCount']);
    lastRestart = laterOf(lastRestart, lastTerm['finishedAt']);
    const sidecar = isRestartableInit(initSpecs.get(str(cs['name'])));
    if (sidecar) {
      sidecarRestarts += int(cs['restartCount']);
      lastSidecarRestart = laterOf(lastSidecarRestart, lastTerm['finishedAt']);
    }
    const term = asRecord(state['terminated']);
    const waiting = asRecord(state['waiting']);
    if (term !== undefined && int(term['exitCode']) === 0) continue;
    if (sidecar && cs['started'] === true) {
      if (cs['ready'] === true) ready++;
      continue;
    }
    if (term !== undefined) reason = terminatedReason(term, 'Init:');
    else if (waiting !== undefined && str(waiting['reason']) !== '' && waiting['reason'] !== 'PodInitializing') reason = `Init:${str(waiting['reason'])}`;
    else reason = `Init:${i}/${initSpecs.size}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = asArray(status['containerStatuses']).filter(isRecord);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] ?? {};
      const state = rec(cs, 'state');
      restarts += int(cs['restartCount']);
      lastRestart = laterOf(lastRestart, rec(cs, 'lastState', 'terminated')['finishedAt']);
      const waiting = asRecord(state['waiting']);
      const term = asRecord(state['terminated']);
      if (waiting !== undefined && str(waiting['reason']) !== '') reason = str(waiting['reason']);
      else if (term !== undefined) reason = terminatedReason(term, '');
      else if (cs['ready'] === true && state['running'] !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = rec(pod, 'metadata')['deletionTimestamp'] !== undefined;
  if (deleting && status['reason'] === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined) restartsStr = `${restarts} (${humanDuration(nowMs - lastRestart)} ago)`;
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsStr };
}

const printPod: Printer = (o, now) => {
  const s = podStatusSummary(o, now);
  const spec = rec(o, 'spec');
  const status = rec(o, 'status');
  const ips = asArray(status['podIPs']).filter(isRecord);
  const ip = str(ips[0]?.['ip']) !== '' ? str(ips[0]?.['ip']) : str(status['podIP']);
  const gates = asArray(spec['readinessGates']).filter(isRecord);
  let gatesStr = '<none>';
  if (gates.length > 0) {
    const trueCount = gates.filter((g) => {
      const c = asArray(status['conditions']).find((x) => isRecord(x) && x['type'] === g['conditionType']);
      return isRecord(c) && c['status'] === 'True';
    }).length;
    gatesStr = `${trueCount}/${gates.length}`;
  }
  return [name(o), s.ready, s.status, s.restarts, age(o, now), orNone(ip), orNone(str(spec['nodeName'])), orNone(str(status['nominatedNodeName'])), gatesStr];
};

// ---------------------------------------------------------------------------------------------
// Nodes and the rest

export function nodeRoles(node: JsonObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(rec(node, 'metadata', 'labels'))) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && typeof v === 'string' && v !== '') roles.add(v);
  }
  return [...roles].sort();
}

export function nodeStatusString(node: JsonObject): string {
  const parts: string[] = [];
  const ready = asArray(rec(node, 'status')['conditions']).find((c) => isRecord(c) && c['type'] === 'Ready');
  if (isRecord(ready)) parts.push(ready['status'] === 'True' ? 'Ready' : 'NotReady');
  else parts.push('Unknown');
  if (rec(node, 'spec')['unschedulable'] === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const printNode: Printer = (o, now) => {
  const status = rec(o, 'status');
  const info = rec(status, 'nodeInfo');
  const addr = (type: string): string => {
    const a = asArray(status['addresses']).find((x) => isRecord(x) && x['type'] === type);
    return isRecord(a) ? str(a['address']) : '<none>';
  };
  const unknown = (v: unknown): string => (str(v) === '' ? '<unknown>' : str(v));
  return [name(o), nodeStatusString(o), orNone(nodeRoles(o).join(',')), age(o, now), str(info['kubeletVersion']),
    addr('InternalIP'), addr('ExternalIP'), unknown(info['osImage']), unknown(info['kernelVersion']), unknown(info['containerRuntimeVersion'])];
};

function servicePorts(spec: JsonObject): string {
  const ports = asArray(spec['ports']).filter(isRecord).map((p) => {
    const np = int(p['nodePort']);
    return np > 0 ? `${int(p['port'])}:${np}/${str(p['protocol'], 'TCP')}` : `${int(p['port'])}/${str(p['protocol'], 'TCP')}`;
  });
  return orNone(ports.join(','));
}

function serviceExternalIp(o: JsonObject): string {
  const spec = rec(o, 'spec');
  const external = asArray(spec['externalIPs']).map((x) => str(x));
  switch (str(spec['type'], 'ClusterIP')) {
    case 'ClusterIP': case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = asArray(rec(o, 'status', 'loadBalancer')['ingress']).filter(isRecord).map((i) => str(i['ip']) !== '' ? str(i['ip']) : str(i['hostname']));
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec['externalName']);
    default:
      return '<unknown>';
  }
}

function endpointsString(o: JsonObject): string {
  const eps: string[] = [];
  for (const subset of asArray(o['subsets']).filter(isRecord)) {
    const ports = asArray(subset['ports']).filter(isRecord);
    for (const a of asArray(subset['addresses']).filter(isRecord)) {
      if (ports.length === 0) eps.push(str(a['ip']));
      for (const p of ports) eps.push(`${str(a['ip'])}:${int(p['port'])}`);
    }
  }
  if (eps.length === 0) return '<none>';
  const maxShown = 3;
  return eps.length > maxShown ? `${eps.slice(0, maxShown).join(',')} + ${eps.length - maxShown} more...` : eps.join(',');
}

function jobCells(o: JsonObject, now: number): Cell[] {
  const spec = rec(o, 'spec');
  const status = rec(o, 'status');
  const succeeded = int(status['succeeded']);
  let completions: string;
  if (typeof spec['completions'] === 'number') completions = `${succeeded}/${spec['completions']}`;
  else if (int(spec['parallelism']) > 1) completions = `${succeeded}/1 of ${int(spec['parallelism'])}`;
  else completions = `${succeeded}/1`;
  const start = typeof status['startTime'] === 'string' ? parseRfc3339(status['startTime']) : undefined;
  const end = typeof status['completionTime'] === 'string' ? parseRfc3339(status['completionTime']) : undefined;
  const duration = start === undefined ? '' : humanDuration((end ?? now) - start);
  const cond = (t: string): boolean => conditionTrue(o, t);
  let state = 'Running';
  if (cond('Complete')) state = 'Complete';
  else if (cond('Failed')) state = 'Failed';
  else if (rec(o, 'metadata')['deletionTimestamp'] !== undefined) state = 'Terminating';
  else if (cond('FailureTarget')) state = 'FailureTarget';
  else if (cond('SuccessCriteriaMet')) state = 'SuccessCriteriaMet';
  else if (cond('Suspended')) state = 'Suspended';
  const [cs, images] = templateContainers(o);
  return [name(o), state, completions, duration, age(o, now), cs, images, selectorString(o)];
}

/** Core v1 Events and events.k8s.io/v1 Events (upstream converts the latter to the former before printing). */
function eventCells(o: JsonObject, now: number): Cell[] {
  const eventsApi = o['apiVersion'] === 'events.k8s.io/v1';
  const io = rec(o, eventsApi ? 'regarding' : 'involvedObject');
  const last = (eventsApi ? o['deprecatedLastTimestamp'] : o['lastTimestamp']) ?? rec(o, 'series')['lastObservedTime'] ?? o['eventTime'];
  const first = (eventsApi ? o['deprecatedFirstTimestamp'] : o['firstTimestamp']) ?? o['eventTime'];
  const src = rec(o, eventsApi ? 'deprecatedSource' : 'source');
  const source = str(src['component']) !== ''
    ? (str(src['host']) !== '' ? `${str(src['component'])}, ${str(src['host'])}` : str(src['component']))
    : str(o[eventsApi ? 'reportingController' : 'reportingComponent']);
  const count = eventsApi ? (asNumber(rec(o, 'series')['count']) ?? int(o['deprecatedCount'])) : int(o['count']);
  return [ageSince(last, now), str(o['type']), str(o['reason']), `${str(io['kind']).toLowerCase()}/${str(io['name'])}`,
    str(io['fieldPath']), source, str(o[eventsApi ? 'note' : 'message']).trim(), ageSince(first, now), count, name(o)];
}

function hpaTargets(o: JsonObject): string {
  const current = asArray(rec(o, 'status')['currentMetrics']).filter(isRecord);
  const parts = asArray(rec(o, 'spec')['metrics']).filter(isRecord).map((m) => {
    if (m['type'] !== 'Resource') return `<unsupported metric ${str(m['type'])}>`;
    const res = rec(m, 'resource');
    const target = rec(res, 'target');
    const cur = current.find((c) => c['type'] === 'Resource' && rec(c, 'resource')['name'] === res['name']);
    const curUtil = cur === undefined ? undefined : asNumber(rec(cur, 'resource', 'current')['averageUtilization']);
    const want = target['type'] === 'Utilization' ? `${int(target['averageUtilization'])}%` : str(target['averageValue'] ?? target['value']);
    return `${str(res['name'])}: ${curUtil === undefined ? '<unknown>' : `${curUtil}%`}/${want}`;
  });
  return orNone(parts.join(', '));
}

function bindingSubjects(o: JsonObject, kind: string): string {
  return asArray(o['subjects']).filter(isRecord).filter((s) => s['kind'] === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${str(s['namespace'])}/${str(s['name'])}` : str(s['name']))).join(', ');
}

const accessModeShort: Readonly<Record<string, string>> = {
  ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP',
};

/** kubectl's GetAccessModesAsString: the short forms in a fixed order, each once. */
function accessModes(v: unknown): string {
  const modes = new Set(asArray(v).map((m) => str(m)));
  return Object.keys(accessModeShort).filter((m) => modes.has(m)).map((m) => accessModeShort[m]).join(',');
}

const storageClassOf = (o: JsonObject): string =>
  str(rec(o, 'spec')['storageClassName'], str(rec(o, 'metadata', 'annotations')['volume.beta.kubernetes.io/storage-class']));

/** "ip,hostname,..." of a LoadBalancerStatus (Ingress ADDRESS). */
function loadBalancerAddresses(lb: JsonObject): string {
  return asArray(lb['ingress']).filter(isRecord).map((i) => (str(i['ip']) !== '' ? str(i['ip']) : str(i['hostname']))).filter((a) => a !== '').join(',');
}

function ingressHosts(spec: JsonObject): string {
  const hosts = asArray(spec['rules']).filter(isRecord).map((r) => str(r['host'])).filter((h) => h !== '');
  if (hosts.length === 0) return '*';
  const maxShown = 4;
  return hosts.length > maxShown ? `${hosts.slice(0, maxShown).join(',')} + ${hosts.length - maxShown} more...` : hosts.join(',');
}

function conditionStatus(o: JsonObject, type: string): string | undefined {
  const c = asArray(rec(o, 'status')['conditions']).find((x) => isRecord(x) && x['type'] === type);
  return isRecord(c) ? str(c['status']) : undefined;
}

/** ResourceQuota REQUEST / LIMIT: "<resource>: <used>/<hard>" over status.hard, split on the "limits." prefix. */
function quotaUsage(o: JsonObject): [string, string] {
  const hard = rec(o, 'status', 'hard');
  const used = rec(o, 'status', 'used');
  const requests: string[] = [];
  const limits: string[] = [];
  for (const k of Object.keys(hard).sort()) {
    const entry = `${k}: ${str(used[k], '0')}/${str(hard[k])}`;
    (k.startsWith('limits.') ? limits : requests).push(entry);
  }
  return [requests.join(', '), limits.join(', ')];
}

/** CertificateSigningRequest CONDITION: the condition types, "Issued" once a certificate is set, "Pending" with neither. */
function csrCondition(o: JsonObject): string {
  const types = asArray(rec(o, 'status')['conditions']).filter(isRecord).map((c) => str(c['type']));
  if (str(rec(o, 'status')['certificate']) !== '') types.push('Issued');
  return types.length === 0 ? 'Pending' : types.join(',');
}

function controllerOf(o: JsonObject): string {
  const ref = asArray(rec(o, 'metadata')['ownerReferences']).filter(isRecord).find((r) => r['controller'] === true);
  if (ref === undefined) return '<none>';
  const apiVersion = str(ref['apiVersion']);
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const groupKind = group === '' ? str(ref['kind']) : `${str(ref['kind'])}.${group}`;
  return `${groupKind.toLowerCase()}/${str(ref['name'])}`;
}

function priorityLevelCells(o: JsonObject, now: number): Cell[] {
  const spec = rec(o, 'spec');
  const limited = asRecord(spec['limited']);
  let ncs: Cell = '<none>';
  let queues: Cell = '<none>';
  let handSize: Cell = '<none>';
  let queueLengthLimit: Cell = '<none>';
  if (limited !== undefined) {
    ncs = int(limited['nominalConcurrencyShares']);
    const q = asRecord(rec(limited, 'limitResponse')['queuing']);
    if (q !== undefined) {
      queues = int(q['queues']);
      handSize = int(q['handSize']);
      queueLengthLimit = int(q['queueLengthLimit']);
    }
  }
  return [name(o), str(spec['type']), ncs, queues, handSize, queueLengthLimit, age(o, now)];
}

interface KindTable {
  columns: ColumnDefinition[];
  print: Printer;
}

const createdAtCol = col('Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
const createdAt = (o: JsonObject): string => str(rec(o, 'metadata')['creationTimestamp']);

const podColumns = [nameCol,
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'string', 'The aggregate status of the containers in this pod.'),
  col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  ageCol,
  col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
  col('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
  col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
  col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1)];

const tables: Record<string, KindTable> = {
  Pod: { columns: podColumns, print: printPod },
  Node: {
    columns: [nameCol, col('Status', 'string', 'The status of the node'), col('Roles', 'string', 'The roles of the node'), ageCol,
      col('Version', 'string', 'Kubelet Version reported by the node.'), col('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
      col('Kernel-Version', 'string', 'Kernel Version reported by the node from \'uname -r\' (e.g. 3.16.0-0.bpo.4-amd64).', 1),
      col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1)],
    print: printNode,
  },
  Namespace: {
    columns: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
    print: (o, now) => [name(o), str(rec(o, 'status')['phase']), age(o, now)],
  },
  Service: {
    columns: [nameCol, col('Type', 'string', 'The type of the service.'), col('Cluster-IP', 'string', 'The IP address of the service.'),
      col('External-IP', 'string', 'External IP addresses of the service.'), col('Port(s)', 'string', 'The ports of the service.'), ageCol,
      col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1)],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      return [name(o), str(spec['type'], 'ClusterIP'), orNone(str(spec['clusterIP'])), serviceExternalIp(o), servicePorts(spec), age(o, now), orNone(labelsString(spec['selector']))];
    },
  },
  Deployment: {
    columns: [nameCol, col('Ready', 'string', 'Number of the pod with ready state'), col('Up-to-date', 'integer', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'integer', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'), ageCol, containersCol, imagesCol, selectorCol],
    print: (o, now) => {
      const st = rec(o, 'status');
      return [name(o), `${int(st['readyReplicas'])}/${int(rec(o, 'spec')['replicas'])}`, int(st['updatedReplicas']), int(st['availableReplicas']), age(o, now), ...templateContainers(o), selectorString(o)];
    },
  },
  ReplicaSet: {
    columns: [nameCol, col('Desired', 'integer', 'Replicas is the number of desired replicas.'), col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
      col('Ready', 'integer', 'The number of ready replicas for this replica set.'), ageCol, containersCol, imagesCol, selectorCol],
    print: (o, now) => {
      const st = rec(o, 'status');
      return [name(o), int(rec(o, 'spec')['replicas']), int(st['replicas']), int(st['readyReplicas']), age(o, now), ...templateContainers(o), selectorString(o)];
    },
  },
  DaemonSet: {
    columns: [nameCol, col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod.'),
      col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      col('Ready', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
      col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
      col('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.'),
      col('Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node.'), ageCol, containersCol, imagesCol, selectorCol],
    print: (o, now) => {
      const st = rec(o, 'status');
      return [name(o), int(st['desiredNumberScheduled']), int(st['currentNumberScheduled']), int(st['numberReady']), int(st['updatedNumberScheduled']),
        int(st['numberAvailable']), orNone(labelsString(rec(o, 'spec', 'template', 'spec')['nodeSelector'])), age(o, now), ...templateContainers(o), selectorString(o)];
    },
  },
  StatefulSet: {
    columns: [nameCol, col('Ready', 'string', 'Number of the pod with ready state'), ageCol, containersCol, imagesCol],
    print: (o, now) => [name(o), `${int(rec(o, 'status')['readyReplicas'])}/${int(rec(o, 'spec')['replicas'])}`, age(o, now), ...templateContainers(o)],
  },
  Job: {
    columns: [nameCol, col('Status', 'string', 'Status of the job.'), col('Completions', 'string', 'The completion status of the job.'),
      col('Duration', 'string', 'Time required to complete the job.'), ageCol, containersCol, imagesCol, selectorCol],
    print: jobCells,
  },
  Endpoints: {
    columns: [nameCol, col('Endpoints', 'string', 'Endpoints of the service'), ageCol],
    print: (o, now) => [name(o), endpointsString(o), age(o, now)],
  },
  EndpointSlice: {
    columns: [nameCol, col('AddressType', 'string', 'Type of address carried by this EndpointSlice.'), col('Ports', 'string', 'Ports of the EndpointSlice.'),
      col('Endpoints', 'string', 'Addresses of the EndpointSlice.'), ageCol],
    print: (o, now) => {
      const ports = asArray(o['ports']).filter(isRecord).map((p) => String(int(p['port'])));
      const addrs = asArray(o['endpoints']).filter(isRecord).flatMap((e) => asArray(e['addresses']).map((a) => str(a)));
      const shown = addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
      return [name(o), str(o['addressType']), ports.length === 0 ? '<unset>' : ports.join(','), addrs.length === 0 ? '<unset>' : shown, age(o, now)];
    },
  },
  ConfigMap: {
    columns: [nameCol, col('Data', 'integer', 'Data contains the configuration data.'), ageCol],
    print: (o, now) => [name(o), Object.keys(asRecord(o['data']) ?? {}).length + Object.keys(asRecord(o['binaryData']) ?? {}).length, age(o, now)],
  },
  Secret: {
    columns: [nameCol, col('Type', 'string', 'The type of the secret'), col('Data', 'integer', 'The number of entries in the secret data.'), ageCol],
    print: (o, now) => [name(o), str(o['type']), Object.keys(asRecord(o['data']) ?? {}).length, age(o, now)],
  },
  ServiceAccount: {
    columns: [nameCol, col('Secrets', 'integer', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageCol],
    print: (o, now) => [name(o), asArray(o['secrets']).length, age(o, now)],
  },
  Event: {
    columns: [col('Last Seen', 'string', 'The last time this event was observed.'), col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future.'),
      col('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      col('Object', 'string', 'The object that this event is about.'), col('Subobject', 'string', 'The subobject this event is about.', 1),
      col('Source', 'string', 'The component reporting this event.', 1), col('Message', 'string', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'string', 'The time at which the event was first recorded.', 1), col('Count', 'string', 'The number of times this event has occurred.', 1),
      { ...nameCol, priority: 1 }],
    print: eventCells,
  },
  Lease: {
    columns: [nameCol, col('Holder', 'string', 'The holder of the lease.'), ageCol],
    print: (o, now) => [name(o), str(rec(o, 'spec')['holderIdentity']), age(o, now)],
  },
  PodDisruptionBudget: {
    columns: [nameCol, col('Min Available', 'string', 'The minimum number of pods that must be available.'), col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
      col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'), ageCol],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      return [name(o), spec['minAvailable'] === undefined ? 'N/A' : str(spec['minAvailable']), spec['maxUnavailable'] === undefined ? 'N/A' : str(spec['maxUnavailable']),
        int(rec(o, 'status')['disruptionsAllowed']), age(o, now)];
    },
  },
  PriorityClass: {
    columns: [nameCol, col('Value', 'integer', 'Value is the integer value of this priority class.'),
      col('Global-Default', 'boolean', 'globalDefault specifies whether this PriorityClass should be considered as the default priority.'), ageCol,
      col('PreemptionPolicy', 'string', 'PreemptionPolicy is the Policy for preempting pods with lower priority.')],
    print: (o, now) => [name(o), int(o['value']), o['globalDefault'] === true, age(o, now), str(o['preemptionPolicy'], 'PreemptLowerPriority')],
  },
  Role: { columns: [nameCol, createdAtCol], print: (o) => [name(o), createdAt(o)] },
  ClusterRole: { columns: [nameCol, createdAtCol], print: (o) => [name(o), createdAt(o)] },
  RoleBinding: {
    columns: [nameCol, col('Role', 'string', 'Role referenced by this binding.'), ageCol, col('Users', 'string', 'Users in the binding.', 1),
      col('Groups', 'string', 'Groups in the binding.', 1), col('ServiceAccounts', 'string', 'ServiceAccounts in the binding.', 1)],
    print: (o, now) => [name(o), `${str(rec(o, 'roleRef')['kind'])}/${str(rec(o, 'roleRef')['name'])}`, age(o, now),
      bindingSubjects(o, 'User'), bindingSubjects(o, 'Group'), bindingSubjects(o, 'ServiceAccount')],
  },
  HorizontalPodAutoscaler: {
    columns: [nameCol, col('Reference', 'string', 'Reference to the target resource.'), col('Targets', 'string', 'Current and desired metric values.'),
      col('MinPods', 'string', 'Lower limit for the number of pods.'), col('MaxPods', 'integer', 'Upper limit for the number of pods.'),
      col('Replicas', 'integer', 'Current number of replicas.'), ageCol],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const ref = rec(spec, 'scaleTargetRef');
      return [name(o), `${str(ref['kind'])}/${str(ref['name'])}`, hpaTargets(o), spec['minReplicas'] === undefined ? '<unset>' : str(spec['minReplicas']),
        int(spec['maxReplicas']), int(rec(o, 'status')['currentReplicas']), age(o, now)];
    },
  },
  ResourceQuota: {
    columns: [nameCol, ageCol, col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
      col('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.')],
    print: (o, now) => [name(o), age(o, now), ...quotaUsage(o)],
  },
  LimitRange: { columns: [nameCol, createdAtCol], print: (o) => [name(o), createdAt(o)] },
  PodTemplate: {
    columns: [nameCol, col('Containers', 'string', 'Names of each container in the template.'), col('Images', 'string', 'Images referenced by each container in the template.'),
      col('Pod Labels', 'string', 'The labels for the pod template.')],
    print: (o) => {
      const cs = asArray(rec(o, 'template', 'spec')['containers']).filter(isRecord);
      return [name(o), cs.map((c) => str(c['name'])).join(','), cs.map((c) => str(c['image'])).join(','), orNone(labelsString(rec(o, 'template', 'metadata')['labels']))];
    },
  },
  ReplicationController: {
    columns: [nameCol, col('Desired', 'integer', 'Number of desired pods'), col('Current', 'integer', 'Number of actual pods'),
      col('Ready', 'integer', 'Number of ready pods'), ageCol, containersCol, imagesCol,
      col('Selector', 'string', 'Label selector for pods. Existing ReplicationControllers whose pods are selected by this will be the ones affected by this deployment.', 1)],
    print: (o, now) => {
      const st = rec(o, 'status');
      return [name(o), int(rec(o, 'spec')['replicas']), int(st['replicas']), int(st['readyReplicas']), age(o, now), ...templateContainers(o),
        orNone(labelsString(rec(o, 'spec')['selector']))];
    },
  },
  PersistentVolume: {
    columns: [nameCol, col('Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'),
      col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
      col('Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
      col('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
      col('Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
      col('StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'),
      col('VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.'),
      col('Reason', 'string', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
      ageCol, col('VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1)],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const ref = asRecord(spec['claimRef']);
      const claim = ref === undefined ? '' : `${str(ref['namespace'])}/${str(ref['name'])}`;
      return [name(o), str(rec(spec, 'capacity')['storage']), accessModes(spec['accessModes']), str(spec['persistentVolumeReclaimPolicy']),
        rec(o, 'metadata')['deletionTimestamp'] !== undefined ? 'Terminating' : str(rec(o, 'status')['phase']), claim, storageClassOf(o),
        str(spec['volumeAttributesClassName'], '<unset>'), str(rec(o, 'status')['reason']), age(o, now), str(spec['volumeMode'], '<unset>')];
    },
  },
  PersistentVolumeClaim: {
    columns: [nameCol, col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
      col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
      col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
      col('Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'),
      col('StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'),
      col('VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'),
      ageCol, col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1)],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const status = rec(o, 'status');
      const phase = rec(o, 'metadata')['deletionTimestamp'] !== undefined ? 'Terminating' : str(status['phase']);
      const bound = str(spec['volumeName']) !== '';
      return [name(o), phase, str(spec['volumeName']), bound ? str(rec(status, 'capacity')['storage']) : '', bound ? accessModes(status['accessModes']) : '',
        storageClassOf(o), str(spec['volumeAttributesClassName'], '<unset>'), age(o, now), str(spec['volumeMode'], '<unset>')];
    },
  },
  StorageClass: {
    columns: [nameCol, col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
      col('ReclaimPolicy', 'string', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
      col('VolumeBindingMode', 'string', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
      col('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'), ageCol],
    print: (o, now) => {
      const isDefault = rec(o, 'metadata', 'annotations')['storageclass.kubernetes.io/is-default-class'] === 'true';
      return [isDefault ? `${name(o)} (default)` : name(o), str(o['provisioner']), str(o['reclaimPolicy'], 'Delete'), str(o['volumeBindingMode'], 'Immediate'),
        String(o['allowVolumeExpansion'] === true), age(o, now)];
    },
  },
  CSIDriver: {
    columns: [nameCol, col('AttachRequired', 'boolean', 'Indicates this CSI volume driver requires an attach operation.'),
      col('PodInfoOnMount', 'boolean', 'Indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations.'),
      col('StorageCapacity', 'boolean', 'Indicates this CSI volume driver wants to take storage capacity into account during pod scheduling.'),
      col('TokenRequests', 'string', 'Indicates the CSI driver needs pods\' service account tokens it is mounting volume for to do necessary authentication.'),
      col('RequiresRepublish', 'boolean', 'Indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume.'),
      col('Modes', 'string', 'Defines what kind of volumes this CSI volume driver supports.'), ageCol],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const audiences = asArray(spec['tokenRequests']).filter(isRecord).map((t) => str(t['audience']));
      return [name(o), spec['attachRequired'] !== false, spec['podInfoOnMount'] === true, spec['storageCapacity'] === true,
        audiences.length === 0 ? '<unset>' : audiences.join(','), spec['requiresRepublish'] === true,
        asArray(spec['volumeLifecycleModes']).map((m) => str(m)).join(','), age(o, now)];
    },
  },
  CSINode: {
    columns: [nameCol, col('Drivers', 'integer', 'Drivers indicates the number of CSI drivers registered on the node'), ageCol],
    print: (o, now) => [name(o), asArray(rec(o, 'spec')['drivers']).length, age(o, now)],
  },
  VolumeAttachment: {
    columns: [nameCol, col('Attacher', 'string', 'Attacher indicates the name of the volume driver that MUST handle this request.'),
      col('PV', 'string', 'Name of the persistent volume to attach.'), col('Node', 'string', 'The node that the volume should be attached to.'),
      col('Attached', 'boolean', 'Indicates the volume is successfully attached.'), ageCol],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      return [name(o), str(spec['attacher']), str(rec(spec, 'source')['persistentVolumeName']), str(spec['nodeName']), rec(o, 'status')['attached'] === true, age(o, now)];
    },
  },
  RuntimeClass: {
    columns: [nameCol, col('Handler', 'string', 'Handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.'), ageCol],
    print: (o, now) => [name(o), str(o['handler']), age(o, now)],
  },
  Ingress: {
    columns: [nameCol, col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
      col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
      col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
      col('Ports', 'string', 'Ports of TLS configurations that open'), ageCol],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      return [name(o), str(spec['ingressClassName'], '<none>'), ingressHosts(spec), loadBalancerAddresses(rec(o, 'status', 'loadBalancer')),
        asArray(spec['tls']).length > 0 ? '80, 443' : '80', age(o, now)];
    },
  },
  IngressClass: {
    columns: [nameCol, col('Controller', 'string', 'Controller that is responsible for handling this class'),
      col('Parameters', 'string', 'A reference to a resource with additional parameters'), ageCol],
    print: (o, now) => {
      const p = asRecord(rec(o, 'spec')['parameters']);
      let params = '<none>';
      if (p !== undefined) params = `${str(p['kind'])}${typeof p['apiGroup'] === 'string' ? `.${p['apiGroup']}` : ''}/${str(p['name'])}`;
      return [name(o), str(rec(o, 'spec')['controller']), params, age(o, now)];
    },
  },
  NetworkPolicy: {
    columns: [nameCol, col('Pod-Selector', 'string', 'Pod selector defines which pods this policy applies to.'), ageCol],
    print: (o, now) => [name(o), formatSelector(rec(o, 'spec')['podSelector']), age(o, now)],
  },
  ControllerRevision: {
    columns: [nameCol, col('Controller', 'string', 'Controller of the object'), col('Revision', 'integer', 'Revision indicates the revision of the state represented by Data.'), ageCol],
    print: (o, now) => [name(o), controllerOf(o), int(o['revision']), age(o, now)],
  },
  CertificateSigningRequest: {
    columns: [nameCol, ageCol, col('SignerName', 'string', 'Only requests with this signerName will be processed by the signer.'),
      col('Requestor', 'string', 'Name of the user that created the request.'),
      col('RequestedDuration', 'string', 'Requested duration of the issued certificate.'),
      col('Condition', 'string', 'Condition of the certificate signing request.')],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const seconds = asNumber(spec['expirationSeconds']);
      return [name(o), age(o, now), str(spec['signerName']), str(spec['username']), seconds === undefined ? '<none>' : humanDuration(seconds * 1000), csrCondition(o)];
    },
  },
  FlowSchema: {
    columns: [nameCol, col('PriorityLevel', 'string', 'The name of the priority level that this flow schema refers to.'),
      col('MatchingPrecedence', 'string', 'The matching precedence of this flow schema.'),
      col('DistinguisherMethod', 'string', 'The distinguisher method of this flow schema.'), ageCol,
      col('MissingPL', 'string', 'Whether the referenced priority level configuration object is missing.')],
    print: (o, now) => {
      const spec = rec(o, 'spec');
      const dm = asRecord(spec['distinguisherMethod']);
      return [name(o), str(rec(spec, 'priorityLevelConfiguration')['name']), str(spec['matchingPrecedence']),
        dm === undefined ? '<none>' : str(dm['type']), age(o, now), conditionStatus(o, 'Dangling') ?? '?'];
    },
  },
  PriorityLevelConfiguration: {
    columns: [nameCol, col('Type', 'string', 'The type of the priority level configuration.'),
      col('NominalConcurrencyShares', 'string', 'NominalConcurrencyShares is the number of shares of the server\'s concurrency limit that this level is entitled to.'),
      col('Queues', 'string', 'The number of queues.'), col('HandSize', 'string', 'The number of queues that a request is assigned to.'),
      col('QueueLengthLimit', 'string', 'The maximum number of requests a queue may hold.'), ageCol],
    print: priorityLevelCells,
  },
  MutatingWebhookConfiguration: {
    columns: [nameCol, col('Webhooks', 'integer', 'Webhooks indicates the number of webhooks in the configuration'), ageCol],
    print: (o, now) => [name(o), asArray(o['webhooks']).length, age(o, now)],
  },
  ComponentStatus: {
    columns: [nameCol, col('Status', 'string', 'Status of the component conditions'), col('Message', 'string', 'Message of the component conditions'),
      col('Error', 'string', 'Error of the component conditions')],
    print: (o) => {
      const c = asArray(o['conditions']).filter(isRecord).find((x) => x['type'] === 'Healthy');
      const status = c === undefined ? 'Unknown' : c['status'] === 'True' ? 'Healthy' : c['status'] === 'False' ? 'Unhealthy' : 'Unknown';
      return [name(o), status, str(c?.['message']), str(c?.['error'])];
    },
  },
  APIService: {
    columns: [nameCol, col('Service', 'string', 'The reference to the service that hosts this API endpoint.'),
      col('Available', 'string', 'Whether this service is available.'), ageCol],
    print: (o, now) => {
      const svc = asRecord(rec(o, 'spec')['service']);
      const c = asArray(rec(o, 'status')['conditions']).filter(isRecord).find((x) => x['type'] === 'Available');
      const available = c === undefined ? 'Unknown' : c['status'] === 'True' ? 'True' : `${str(c['status'])} (${str(c['reason'])})`;
      return [name(o), svc === undefined ? 'Local' : `${str(svc['namespace'])}/${str(svc['name'])}`, available, age(o, now)];
    },
  },
};
tables['ClusterRoleBinding'] = tables['RoleBinding'] as KindTable;
tables['ValidatingWebhookConfiguration'] = tables['MutatingWebhookConfiguration'] as KindTable;

const defaultTable: KindTable = { columns: [nameCol, createdAtCol], print: (o) => [name(o), createdAt(o)] };

function rowObject(o: JsonObject, include: IncludeObject): JsonObject | undefined {
  switch (include) {
    case 'None': return undefined;
    case 'Object': return o;
    case 'Metadata': return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: rec(o, 'metadata') };
    default: {
      const never: never = include;
      throw new Error(`includeObject ${String(never)}`);
    }
  }
}

/** The Table for objects of one kind (a list, a single GET, or one watch event). */
export function toTable(kind: string, objects: readonly JsonObject[], opts: TableOptions): JsonObject {
  const t = tables[kind] ?? defaultTable;
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: opts.noHeaders === true ? [] : t.columns,
    rows: objects.map((o) => {
      const cells = t.print(o, opts.nowMs);
      if (cells.length !== t.columns.length) throw new Error(`table printer for ${kind} produced ${cells.length} cells for ${t.columns.length} columns`);
      const row: JsonObject = { cells };
      const obj = rowObject(o, include);
      if (obj !== undefined) row['object'] = obj;
      return row;
    }),
  };
}

/** True when the Accept header asks for a meta.k8s.io/v1 Table (kubectl get's human output). */
export function wantsTable(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1'));
  });
}

/** `includeObject` query parameter; an unknown value is an error the caller maps to 400. */
export function parseIncludeObject(value: string | undefined): IncludeObject | undefined {
  if (value === undefined || value === '') return 'Metadata';
  return value === 'None' || value === 'Metadata' || value === 'Object' ? value : undefined;
}

/**
 * A value by a CRD printer column's JSONPath: the simple `.a.b[0].c` form apiextensions validates
 * columns to in practice (filters and wildcards are not evaluated: such a cell is empty).
 */
export function simpleJsonPath(o: unknown, path: string): unknown {
  const body = path.startsWith('{') && path.endsWith('}') ? path.slice(1, -1) : path;
  if (!body.startsWith('.')) return undefined;
  const steps = body.slice(1).split(/\.|(?=\[)/).filter((x) => x !== '');
  let cur: unknown = o;
  for (const step of steps) {
    const index = /^\[(\d+)\]$/.exec(step);
    if (index !== null) cur = Array.isArray(cur) ? cur[Number(index[1])] : undefined;
    else if (/^\[/.test(step)) return undefined;
    else cur = asRecord(cur)?.[step];
    if (cur === undefined) return undefined;
  }
  return cur;
}

export interface CustomColumn {
  readonly name: string;
  readonly type: ColumnDefinition['type'];
  readonly format: string;
  readonly description: string;
  readonly priority: number;
  readonly jsonPath: string;
}

/** A custom resource's Table (apiextensions' tableconvertor): Name, then the CRD's printer columns. */
export function toCustomTable(columns: readonly CustomColumn[], objects: readonly JsonObject[], opts: TableOptions): JsonObject {
  const include = opts.includeObject ?? 'Metadata';
  const defs = [nameCol, ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority }))];
  const cell = (c: CustomColumn, o: JsonObject): Cell | null => {
    const v = simpleJsonPath(o, c.jsonPath);
    if (v === undefined || v === null) return null;
    if (c.type === 'date') return ageSince(v, opts.nowMs);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return JSON.stringify(v);
  };
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: opts.noHeaders === true ? [] : defs,
    rows: objects.map((o) => {
      const row: JsonObject = { cells: [name(o), ...columns.map((c) => cell(c, o))] };
      const obj = rowObject(o, include);
      if (obj !== undefined) row['object'] = obj;
      return row;
    }),
  };
}

/** The Table of any served kind: a custom resource's from its CRD's columns, a built-in kind's from its printer. */
export function tableFor(info: ResourceInfo, objects: readonly JsonObject[], opts: TableOptions): JsonObject {
  return info.custom === undefined ? toTable(info.kind, objects, opts) : toCustomTable(info.custom.columns, objects, opts);
}
