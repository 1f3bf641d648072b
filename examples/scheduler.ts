import { Registry, renderExplain, whatIfManifests, type ScorePlugin } from 'pocketkube';

// A Score plugin: prefer nodes labelled with the pod's team (0..100, like every score).
const sameTeam: ScorePlugin = {
  name: 'SameTeam',
  score: (_ctx, pod, node) => (node.labels['team'] !== undefined && node.labels['team'] === pod.labels['team'] ? 100 : 0),
};
const registry = new Registry([['SameTeam', () => ({ ok: true, plugin: sameTeam })]]);

// A KubeSchedulerConfiguration enabling it with weight 5, some nodes and a pod: a what-if run (no
// cluster). The same registry and configuration go to `Scheduler.create` to run it on a cluster.
const manifests = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: default-scheduler
    plugins: { score: { enabled: [{ name: SameTeam, weight: 5 }] } }
---
{ apiVersion: v1, kind: Node, metadata: { name: a, labels: { team: blue } }, status: { allocatable: { cpu: "2", memory: 4Gi, pods: "110" } } }
---
{ apiVersion: v1, kind: Node, metadata: { name: b, labels: { team: red } }, status: { allocatable: { cpu: "8", memory: 4Gi, pods: "110" } } }
---
{ apiVersion: v1, kind: Node, metadata: { name: c }, status: { allocatable: { cpu: "1", memory: 4Gi, pods: "110" } } }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, labels: { team: blue } }
spec: { containers: [{ name: web, image: nginx, resources: { requests: { cpu: 1500m } } }] }
`;
const result = whatIfManifests(manifests, { registry });
if (!result.ok) throw new Error(result.errors.join('; '));
console.log(renderExplain(result.value.decisions.at(-1)!));
