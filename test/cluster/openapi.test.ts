/**
 * End to end: the real kubectl 1.32 explains built-in kinds and a CRD from the OpenAPI v3
 * documents a 3-master cluster serves through the front door, and a CRD added later shows up
 * (the group-version's hash changes, so kubectl's cache refreshes). Own loopback block 127.78.4.
 */
import test from 'ava';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster } from '../../src/cluster/index.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';

const network = '127.78.4';

const crdYaml = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.toys.example.com
spec:
  group: toys.example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a toy for tests.
        properties:
          spec:
            type: object
            required: [colour]
            properties:
              colour:
                type: string
                description: The colour of the widget.
              sizeCm:
                type: integer
`;

let shared: { cluster: Cluster; kubectl: Kubectl } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 12 });
  shared = { cluster, kubectl: await kubectlFor(cluster.kubeconfigPath) };
});

test.after.always(async () => {
  await shared?.kubectl.close();
  await shared?.cluster.stop();
});

test('kubectl explain: built-in kinds and a CRD from /openapi/v3', async (t) => {
  if (!shared) throw new Error('the cluster did not start');
  const { kubectl } = shared;
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input === undefined ? {} : { input });
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const spec = await ok(['explain', 'deployment.spec']);
  t.regex(spec, /GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1/);
  t.regex(spec, /FIELD: spec <DeploymentSpec>/);
  t.regex(spec, /replicas\t<integer>\n\s+Number of desired pods/);
  t.regex(spec, /selector\t<LabelSelector> -required-/);
  t.regex(spec, /template\t<PodTemplateSpec> -required-/);
  const containers = await ok(['explain', 'pods.spec.containers']);
  t.regex(containers, /KIND:\s+Pod\nVERSION:\s+v1/);
  t.regex(containers, /FIELD: containers <\[\]Container>/);
  t.regex(containers, /List of containers belonging to the pod/);
  t.regex(containers, /image\t<string>/);
  t.regex(containers, /name\t<string> -required-/);
  t.regex(containers, /ports\t<\[\]ContainerPort>/);
  t.regex(containers, /resources\t<ResourceRequirements>/);
  t.regex(await ok(['explain', 'pods.spec.containers.resources.limits']), /FIELD: limits <map\[string\]Quantity>/);
  t.regex(await ok(['explain', 'services.spec.ports.targetPort']), /FIELD: targetPort <IntOrString>|FIELD: targetPort <string>/);
  t.regex(await ok(['explain', 'configmaps']), /KIND:\s+ConfigMap[\s\S]*data\t<map\[string\]string>/);
  t.regex(await ok(['explain', 'deployment', '--recursive']), /\s+containers\t<\[\]Container> -required-/);

  // A CRD created now: its group-version appears in /openapi/v3 and explain reads its schema.
  await ok(['apply', '-f', '-'], crdYaml);
  let explained = '';
  for (let i = 0; i < 50 && explained === ''; i++) {
    const r = await kubectl(['explain', 'widgets.spec']);
    if (r.code === 0) explained = r.stdout;
    else await delay(100);
  }
  t.regex(explained, /GROUP:\s+toys\.example\.com\nKIND:\s+Widget\nVERSION:\s+v1/);
  t.regex(explained, /colour\t<string> -required-\n\s+The colour of the widget\./);
  t.regex(explained, /sizeCm\t<integer>/);
  const top = await ok(['explain', 'widgets']);
  t.regex(top, /A Widget is a toy for tests\./);
  t.regex(top, /metadata\t<ObjectMeta>/);
  t.regex(await ok(['explain', 'widgets.metadata.labels']), /FIELD: labels <map\[string\]string>/);

  // Writes still validate (fieldValidation is advertised, the server refuses unknown fields).
  const bad = await kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\nbogus: 1\n' });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /unknown field "bogus"/);
  t.regex(await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {a: b}\n'), /configmap\/c created/);
});
