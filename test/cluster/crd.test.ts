/**
 * End to end: CustomResourceDefinitions on a real 3-master cluster through the front door, with
 * the real kubectl 1.32: apply a CRD and a custom resource from YAML, get with printer columns and
 * short names, patch, scale, a schema violation's field error, and deleting the CRD. Every
 * apiserver serves the custom resources (each one is asked directly). Own loopback block 127.78.9.
 */
import test from 'ava';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster } from '../../src/cluster/index.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';

const network = '127.78.9';

const crdYaml = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 0
                maximum: 10
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
`;

const crYaml = (replicas: number | string, extra = '') => `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-cron
  namespace: default
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
  replicas: ${replicas}
${extra}`;

let shared: { cluster: Cluster; kubectl: Kubectl; dir: string } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 11 });
  shared = { cluster, kubectl: await kubectlFor(cluster.kubeconfigPath), dir: await mkdtemp(join(tmpdir(), 'pk-crd-')) };
});

test.after.always(async () => {
  await shared?.kubectl.close();
  await shared?.cluster.stop();
  if (shared) await rm(shared.dir, { recursive: true, force: true });
});

test('kubectl: apply a CRD and a custom resource, get with printer columns, patch, scale, schema errors, delete', async (t) => {
  if (!shared) throw new Error('the cluster did not start');
  const { kubectl, dir } = shared;
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input === undefined ? {} : { input });
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const crdFile = join(dir, 'crd.yaml');
  await writeFile(crdFile, crdYaml);
  t.regex(await ok(['apply', '-f', crdFile]), /customresourcedefinition.apiextensions.k8s.io\/crontabs.stable.example.com created/);
  t.regex(await ok(['wait', '--for=condition=Established', '--timeout=10s', 'crd/crontabs.stable.example.com']), /condition met/);
  t.regex(await ok(['get', 'crd']), /crontabs\.stable\.example\.com\s+\d{4}-/);
  // Each apiserver learns the CRD from the store by itself, a moment after it is written.
  let applied = '';
  for (let i = 0; i < 50 && applied === ''; i++) {
    const r = await kubectl(['apply', '-f', '-'], { input: crYaml(1) });
    if (r.code === 0) applied = r.stdout;
    else await delay(100);
  }
  t.regex(applied, /crontab.stable.example.com\/my-cron created/);
  const listed = await ok(['get', 'crontabs']);
  t.regex(listed, /NAME\s+SPEC\s+REPLICAS\s+AGE/);
  t.regex(listed, /my-cron\s+\* \* \* \* \*\/5\s+1\s+\d+s/);
  t.regex(await ok(['get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.image} {.metadata.generation}']), /^my-awesome-cron-image 1$/);
  // kubectl validates strictly by default: a field the schema lacks is refused; without validation it is pruned.
  const strict = await kubectl(['apply', '-f', '-'], { input: crYaml(1, '  unknownField: pruned\n') });
  t.not(strict.code, 0);
  t.regex(strict.stderr, /strict decoding error: unknown field "spec.unknownField"/);
  await ok(['apply', '--validate=false', '-f', '-'], crYaml(1, '  unknownField: pruned\n'));
  t.notRegex(await ok(['get', 'ct', 'my-cron', '-o', 'jsonpath={.spec}']), /unknownField/);
  await ok(['patch', 'ct', 'my-cron', '--type=merge', '-p', '{"spec":{"image":"other"}}']);
  await ok(['patch', 'ct', 'my-cron', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
  t.regex(await ok(['get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.image} {.spec.replicas} {.metadata.generation}']), /^other 2 3$/);
  const strategic = await kubectl(['patch', 'ct', 'my-cron', '-p', '{"spec":{"image":"x"}}']);
  t.not(strategic.code, 0);
  t.regex(strategic.stderr, /UnsupportedMediaType|unsupported media type|415|the body of the request was in an unknown format/);
  t.regex(await ok(['scale', 'ct', 'my-cron', '--replicas=5']), /crontab.stable.example.com\/my-cron scaled/);
  t.regex(await ok(['get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.replicas}']), /^5$/);
  t.regex(await ok(['get', 'ct', '-l', 'nothing=here']), /^$/);
  const bad = await kubectl(['apply', '-f', '-'], { input: crYaml(42) });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /The CronTab "my-cron" is invalid: spec.replicas: Invalid value: 42: spec.replicas in body should be less than or equal to 10/);
  const typed = await kubectl(['apply', '-f', '-'], { input: crYaml('"three"') });
  t.regex(typed.stderr, /spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"|spec.replicas in body must be of type integer/);
  t.regex(await ok(['delete', 'ct', 'my-cron']), /crontab.stable.example.com "my-cron" deleted/);
  t.regex(await ok(['apply', '-f', '-'], crYaml(1)), /created/);
  t.regex(await ok(['delete', '-f', crdFile, '--timeout=20s']), /customresourcedefinition.apiextensions.k8s.io "crontabs.stable.example.com" deleted/);
  const gone = await kubectl(['get', 'crontabs.stable.example.com']);
  t.not(gone.code, 0);
  t.regex(gone.stderr, /the server doesn't have a resource type "crontabs"/);
});
