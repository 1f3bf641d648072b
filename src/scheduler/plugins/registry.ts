/**
 * The in-tree plugins by name (upstream plugins/registry.go) and the cluster events each one's
 * rejections wait for (upstream EventsToRegister with their QueueingHints, in simple form).
 * A new built-in is one file and one line here.
 */
import { asRecord, type KubeObject } from '../../api/index.js';
import { tolerates } from '../../controllers/framework/taints.js';
import { Registry, type FrameworkPluginFactory } from '../framework.js';
import { newNodeInfo, newPodInfo } from '../podinfo.js';
import type { ClusterEventInfo, ClusterEventWithHint, PodInfo, QueueingHint } from '../types.js';
import { noArgs } from './args.js';
import { defaultBinder, imageLocality, nodeAffinity, nodeMatchesPod, nodeName, nodePorts, nodeUnschedulable, prioritySort, schedulingGates, taintToleration } from './basic.js';
import { defaultPreemption } from './preemption.js';
import { insufficientResources, nodeResourcesBalancedAllocation, nodeResourcesFit } from './resources.js';
import { interPodAffinity, podTopologySpread } from './topology.js';

export function inTreeRegistry(): Registry {
  const entries: Array<readonly [string, FrameworkPluginFactory]> = [
    ['PrioritySort', noArgs('PrioritySort', prioritySort)],
    ['SchedulingGates', noArgs('SchedulingGates', schedulingGates)],
    ['NodeUnschedulable', noArgs('NodeUnschedulable', nodeUnschedulable)],
    ['NodeName', noArgs('NodeName', nodeName)],
    ['TaintToleration', noArgs('TaintToleration', taintToleration)],
    ['NodeAffinity', noArgs('NodeAffinity', nodeAffinity)],
    ['NodePorts', noArgs('NodePorts', nodePorts)],
    ['NodeResourcesFit', nodeResourcesFit],
    ['NodeResourcesBalancedAllocation', nodeResourcesBalancedAllocation],
    ['PodTopologySpread', podTopologySpread],
    ['InterPodAffinity', interPodAffinity],
    ['ImageLocality', noArgs('ImageLocality', imageLocality)],
    ['DefaultPreemption', defaultPreemption],
    ['DefaultBinder', noArgs('DefaultBinder', defaultBinder)],
  ];
  return new Registry(entries);
}

const q = (b: boolean): QueueingHint => (b ? 'Queue' : 'QueueSkip');
const nodeOf = (ev: ClusterEventInfo): KubeObject | undefined => ev.obj;
const assignedPodOf = (o: KubeObject | undefined): PodInfo | undefined => (o === undefined ? undefined : newPodInfo(o));
const isUnschedulableNode = (o: KubeObject | undefined) => asRecord(o?.['spec'])?.['unschedulable'] === true;

/** A node change matters to a resource-rejected pod only if the node could now hold it alone. */
function nodeCouldFit(pod: PodInfo, ev: ClusterEventInfo): QueueingHint {
  const n = nodeOf(ev);
  if (n === undefined) return 'Queue';
  const info = newNodeInfo(n);
  return q(insufficientResources(pod, info).length === 0);
}

function taintsTolerated(pod: PodInfo, ev: ClusterEventInfo): QueueingHint {
  const n = nodeOf(ev);
  if (n === undefined) return 'Queue';
  const info = newNodeInfo(n);
  return q(info.taints.every((t) => (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') || pod.tolerations.some((tol) => tolerates(tol, t))));
}

function affinityMatches(pod: PodInfo, ev: ClusterEventInfo): QueueingHint {
  const n = nodeOf(ev);
  return n === undefined ? 'Queue' : q(nodeMatchesPod(pod, newNodeInfo(n)));
}

/** An assigned pod went away: only pods with host ports care whether it held ports. */
function freedPorts(pod: PodInfo, ev: ClusterEventInfo): QueueingHint {
  const gone = assignedPodOf(ev.old);
  return gone === undefined ? 'Queue' : q(gone.hostPorts.some((hp) => pod.hostPorts.some((w) => w.port === hp.port && w.protocol === hp.protocol)));
}

const nodeAddOrUpdate = (hint: ClusterEventWithHint['hint']): ClusterEventWithHint[] =>
  hint === undefined ? [{ event: 'NodeAdd' }, { event: 'NodeUpdate' }] : [{ event: 'NodeAdd', hint }, { event: 'NodeUpdate', hint }];

export const inTreeEvents: ReadonlyMap<string, readonly ClusterEventWithHint[]> = new Map<string, readonly ClusterEventWithHint[]>([
  ['PrioritySort', []],
  // Gates change only through an update of the pod itself, which the queue handles directly.
  ['SchedulingGates', []],
  ['NodeUnschedulable', nodeAddOrUpdate((_p, ev) => q(!isUnschedulableNode(ev.obj)))],
  ['NodeName', [{ event: 'NodeAdd', hint: (p, ev) => q(ev.obj?.metadata?.name === p.nodeName) }]],
  ['TaintToleration', nodeAddOrUpdate(taintsTolerated)],
  ['NodeAffinity', nodeAddOrUpdate(affinityMatches)],
  ['NodePorts', [{ event: 'PodDelete', hint: freedPorts }, { event: 'NodeAdd' }]],
  ['NodeResourcesFit', [{ event: 'PodDelete' }, ...nodeAddOrUpdate(nodeCouldFit)]],
  ['NodeResourcesBalancedAllocation', []],
  ['PodTopologySpread', [{ event: 'PodAdd' }, { event: 'PodUpdate' }, { event: 'PodDelete' }, { event: 'NodeAdd' }, { event: 'NodeUpdate' }, { event: 'NodeDelete' }]],
  ['InterPodAffinity', [{ event: 'PodAdd' }, { event: 'PodUpdate' }, { event: 'PodDelete' }, { event: 'NodeAdd' }, { event: 'NodeUpdate' }]],
  ['ImageLocality', []],
  ['DefaultPreemption', []],
  ['DefaultBinder', []],
]);
