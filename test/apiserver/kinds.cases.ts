/**
 * Issue 9: the API as kubectl 1.32's typed clients meet it. One server start: every `kubectl create`
 * generator, `kubectl apply` of one manifest of every stored kind (test/fixtures/kinds.yaml) and
 * `kubectl get` of each back, the review kinds (`auth whoami`, `auth can-i`, TokenReview,
 * SubjectAccessReview), componentstatuses and apiservices.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createCa } from '../../src/apiserver/auth/index.js';
import { nobodyToken, startE2e } from './e2e-helpers.js';

const kindsManifest = fileURLToPath(new URL('../fixtures/kinds.yaml', import.meta.url));

test('kubectl: every create generator, apply + get of every stored kind, reviews, componentstatuses, apiservices', async (t) => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const e = await startE2e(['127.77.1.50'], { tokenIssuer: { signingKeyPem: key.privateKey } });
  t.teardown(() => e.close());
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await e.kubectl(args, input === undefined ? {} : { input });
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  // (1) every generator of `kubectl create` in 1.32.
  const tls = createCa(Date.now(), 'kinds.example.com');
  const certPath = join(e.dir, 'tls.crt');
  const keyPath = join(e.dir, 'tls.key');
  await writeFile(certPath, tls.certPem);
  await writeFile(keyPath, tls.keyPem);
  const n = ['-n', 'gen'];
  const generators: Array<[string[], RegExp]> = [
    [['create', 'namespace', 'gen'], /namespace\/gen created/],
    [['create', 'clusterrole', 'gen-cr', '--verb=get', '--resource=pods'], /clusterrole.rbac.authorization.k8s.io\/gen-cr created/],
    [['create', 'clusterrolebinding', 'gen-crb', '--clusterrole=gen-cr', '--user=jane'], /clusterrolebinding.rbac.authorization.k8s.io\/gen-crb created/],
    [['create', 'configmap', 'gen-cm', ...n, '--from-literal=a=b'], /configmap\/gen-cm created/],
    [['create', 'cronjob', 'gen-cj', ...n, '--image=busybox', '--schedule=*/5 * * * *'], /cronjob.batch\/gen-cj created/],
    [['create', 'deployment', 'gen-deploy', ...n, '--image=nginx', '--replicas=0'], /deployment.apps\/gen-deploy created/],
    [['create', 'ingress', 'gen-ing', ...n, '--class=default', '--rule=foo.com/bar=svc1:8080,tls=my-cert'], /ingress.networking.k8s.io\/gen-ing created/],
    [['create', 'job', 'gen-job', ...n, '--image=busybox'], /job.batch\/gen-job created/],
    [['create', 'poddisruptionbudget', 'gen-pdb', ...n, '--selector=app=gen', '--min-available=1'], /poddisruptionbudget.policy\/gen-pdb created/],
    [['create', 'priorityclass', 'gen-pc', '--value=1000', '--description=gen'], /priorityclass.scheduling.k8s.io\/gen-pc created/],
    [['create', 'quota', 'gen-quota', ...n, '--hard=pods=2,limits.cpu=1'], /resourcequota\/gen-quota created/],
    [['create', 'role', 'gen-role', ...n, '--verb=get', '--resource=pods'], /role.rbac.authorization.k8s.io\/gen-role created/],
    [['create', 'rolebinding', 'gen-rb', ...n, '--role=gen-role', '--user=jane'], /rolebinding.rbac.authorization.k8s.io\/gen-rb created/],
    [['create', 'secret', 'generic', 'gen-generic', ...n, '--from-literal=a=b'], /secret\/gen-generic created/],
    [['create', 'secret', 'docker-registry', 'gen-registry', ...n, '--docker-server=r.example.com', '--docker-username=u', '--docker-password=p'], /secret\/gen-registry created/],
    [['create', 'secret', 'tls', 'gen-tls', ...n, `--cert=${certPath}`, `--key=${keyPath}`], /secret\/gen-tls created/],
    [['create', 'service', 'clusterip', 'gen-clusterip', ...n, '--tcp=80:8080'], /service\/gen-clusterip created/],
    [['create', 'service', 'externalname', 'gen-externalname', ...n, '--external-name=example.com'], /service\/gen-externalname created/],
    [['create', 'service', 'loadbalancer', 'gen-loadbalancer', ...n, '--tcp=80:8080'], /service\/gen-loadbalancer created/],
    [['create', 'service', 'nodeport', 'gen-nodeport', ...n, '--tcp=80:8080'], /service\/gen-nodeport created/],
    [['create', 'serviceaccount', 'gen-sa', ...n], /serviceaccount\/gen-sa created/],
  ];
  for (const [args, expected] of generators) t.regex(await ok(args), expected);
  t.regex(await ok(['create', 'token', 'gen-sa', ...n]), /^eyJ[\w-]+\.[\w-]+\.[\w-]+\s*$/);
  const genGet = await ok(['get', ...n, 'cm,cj,deploy,ing,job,pdb,quota,role,rolebinding,secret,svc,sa']);
  for (const name of ['configmap/gen-cm', 'cronjob.batch/gen-cj', 'deployment.apps/gen-deploy', 'ingress.networking.k8s.io/gen-ing', 'job.batch/gen-job',
    'poddisruptionbudget.policy/gen-pdb', 'resourcequota/gen-quota', 'role.rbac.authorization.k8s.io/gen-role', 'rolebinding.rbac.authorization.k8s.io/gen-rb',
    'secret/gen-generic', 'secret/gen-registry', 'secret/gen-tls', 'service/gen-clusterip', 'service/gen-externalname', 'service/gen-loadbalancer',
    'service/gen-nodeport', 'serviceaccount/gen-sa']) {
    t.true(genGet.includes(name), `kubectl get shows ${name}:\n${genGet}`);
  }
  t.regex(genGet, /gen-ing\s+default\s+foo\.com\s+80, 443/);
  t.regex(genGet, /gen-quota\s+\S+\s+(pods: 0\/2)?\s/);
  t.regex(await ok(['get', 'clusterrole,clusterrolebinding,priorityclass', '-o', 'name']), /clusterrole.rbac.authorization.k8s.io\/gen-cr[\s\S]*clusterrolebinding.rbac.authorization.k8s.io\/gen-crb[\s\S]*priorityclass.scheduling.k8s.io\/gen-pc/);

  // (2) one manifest of every stored kind, applied and read back.
  const applied = await ok(['apply', '-f', kindsManifest]);
  const appliedLines = applied.trim().split('\n');
  t.true(appliedLines.every((l) => / created$/.test(l)), applied);
  const names = (await ok(['get', '-f', kindsManifest, '-o', 'name'])).trim().split('\n');
  t.is(names.length, appliedLines.length);
  for (const expected of ['persistentvolume/kinds-pv', 'storageclass.storage.k8s.io/kinds-sc', 'csidriver.storage.k8s.io/kinds.csi.example.com',
    'volumeattachment.storage.k8s.io/kinds-va', 'runtimeclass.node.k8s.io/kinds-runtime', 'networkpolicy.networking.k8s.io/kinds-netpol',
    'certificatesigningrequest.certificates.k8s.io/kinds-csr', 'event.events.k8s.io/kinds-event2', 'flowschema.flowcontrol.apiserver.k8s.io/kinds-fs',
    'prioritylevelconfiguration.flowcontrol.apiserver.k8s.io/kinds-pl', 'mutatingwebhookconfiguration.admissionregistration.k8s.io/kinds-mutating',
    'validatingwebhookconfiguration.admissionregistration.k8s.io/kinds-validating', 'controllerrevision.apps/kinds-cr', 'replicationcontroller/kinds-rc']) {
    t.true(names.includes(expected), `${expected} in ${names.join(' ')}`);
  }
  t.regex(await ok(['apply', '-f', kindsManifest]), /unchanged/);
  // Human tables, as upstream's printers lay them out.
  t.regex(await ok(['get', 'pv']), /kinds-pv\s+5Gi\s+RWO\s+Retain\s+Pending\s+kinds-sc\s+<unset>/);
  t.regex(await ok(['get', 'pvc', '-n', 'kinds']), /kinds-pvc\s+Pending\s+kinds-sc\s+<unset>/);
  t.regex(await ok(['get', 'sc']), /kinds-sc\s+kubernetes.io\/no-provisioner\s+Delete\s+WaitForFirstConsumer\s+false/);
  t.regex(await ok(['get', 'ing', '-n', 'kinds']), /kinds-ingress\s+kinds-ingressclass\s+kinds\.example\.com\s+80\s/);
  t.regex(await ok(['get', 'netpol', '-n', 'kinds']), /kinds-netpol\s+app=kinds/);
  t.regex(await ok(['get', 'rc', '-n', 'kinds', '-o', 'wide']), /kinds-rc\s+0\s+0\s+0\s+\S+\s+c\s+nginx:1\.27\s+app=kinds-rc/);
  // The requester is whoever created the CSR (the manifest names none).
  t.regex(await ok(['get', 'csr']), /kinds-csr\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+admin\s+<none>\s+Pending/);
  t.regex(await ok(['certificate', 'approve', 'kinds-csr']), /certificatesigningrequest.certificates.k8s.io\/kinds-csr approved/);
  t.regex(await ok(['get', 'csr', 'kinds-csr']), /kinds-csr\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+admin\s+<none>\s+Approved\n/);
  t.regex(await ok(['get', 'csr', 'kinds-csr', '-o', 'jsonpath={.spec.usages}']), /client auth/, 'the approval left the spec alone');
  t.regex(await ok(['get', 'prioritylevelconfigurations']), /kinds-pl\s+Limited\s+5\s+16\s+4\s+20/);
  t.regex(await ok(['get', 'flowschemas']), /kinds-fs\s+kinds-pl\s+500\s+ByUser/);
  t.regex(await ok(['get', 'validatingwebhookconfigurations']), /kinds-validating\s+1/);
  t.regex(await ok(['get', 'events.events.k8s.io', '-n', 'kinds']), /Tested\s+pod\/kinds-pod\s+events.k8s.io event/);
  t.regex(await ok(['get', 'csidrivers']), /kinds.csi.example.com\s+false\s+false\s+false\s+<unset>\s+false\s+Persistent/);
  // The new kinds are watchable: a watch opened before a create sees it.
  const watching = e.kubectl(['get', 'runtimeclasses', '--watch', '--output-watch-events'], { timeoutMs: 4000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await ok(['create', '-f', '-'], 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: kinds-watched\nhandler: runsc\n');
  const watched = await watching;
  t.regex(watched.stdout, /ADDED\s+kinds-runtime\s+runc[\s\S]*ADDED\s+kinds-watched\s+runsc/, watched.stderr);
  // kubectl's own describers for these kinds read them (and their events) without errors.
  for (const what of [['pv', 'kinds-pv'], ['pvc', 'kinds-pvc'], ['sc', 'kinds-sc'], ['ing', 'kinds-ingress'], ['ingressclass', 'kinds-ingressclass'],
    ['netpol', 'kinds-netpol'], ['quota', 'kinds-quota'], ['limits', 'kinds-limits'], ['rc', 'kinds-rc'], ['csr', 'kinds-csr'],
    ['priorityclass', 'kinds-priority'], ['csidriver', 'kinds.csi.example.com'], ['csinode', 'kinds-node'], ['runtimeclass', 'kinds-runtime'],
    ['validatingwebhookconfiguration', 'kinds-validating'], ['flowschema', 'kinds-fs'], ['controllerrevision', 'kinds-cr']] as const) {
    t.regex(await ok(['describe', '-n', 'kinds', what[0], what[1]]), new RegExp(`Name:\\s+${what[1].replace(/\./g, '\\.')}`));
  }
  const apiResources = await ok(['api-resources']);
  t.regex(apiResources, /flowschemas\s+flowcontrol.apiserver.k8s.io\/v1\s+false\s+FlowSchema/);
  t.regex(apiResources, /selfsubjectreviews\s+authentication.k8s.io\/v1\s+false\s+SelfSubjectReview/);
  t.true(apiResources.trim().split('\n').length - 1 >= 55, apiResources);
  // Validation names the field (422 Invalid).
  const bad = await e.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bad\n  namespace: kinds\nspec:\n  resources:\n    requests:\n      storage: 1Gi\n' });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /spec.accessModes: Required value: at least 1 access mode is required/);
  const badIngress = await e.kubectl(['apply', '-f', '-'], { input: 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: bad\n  namespace: kinds\nspec: {}\n' });
  t.regex(badIngress.stderr, /either `defaultBackend` or `rules` must be specified/);

  // (3) reviews, componentstatuses, apiservices.
  t.regex(await ok(['auth', 'whoami']), /Username\s+admin[\s\S]*Groups\s+\[system:masters system:authenticated\]/);
  const nobody = await e.kubeconfigFor(e.servers[0]!.url, nobodyToken, 'nobody');
  const whoami = await e.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: nobody });
  t.is(whoami.stdout, 'nobody', whoami.stderr);
  t.is((await e.kubectl(['auth', 'can-i', 'get', 'pods', '-n', 'kinds'], { kubeconfig: nobody })).stdout.trim(), 'yes');
  t.is((await e.kubectl(['auth', 'can-i', 'get', 'pods', '-n', 'gen'], { kubeconfig: nobody })).stdout.trim(), 'no');
  const list = await e.kubectl(['auth', 'can-i', '--list', '-n', 'kinds'], { kubeconfig: nobody });
  t.regex(list.stdout, /pods\s+\[\]\s+\[\]\s+\[get\]/, list.stderr);
  t.regex(await ok(['create', '-o', 'jsonpath={.status.authenticated} {.status.user.username}', '-f', '-'],
    `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: ${nobodyToken}\n`), /^true nobody$/);
  t.regex(await ok(['create', '-o', 'jsonpath={.status.authenticated}', '-f', '-'],
    'apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: not-a-token\n'), /^false$/);
  t.regex(await ok(['create', '-o', 'jsonpath={.status.allowed}', '-f', '-'],
    'apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: jane\n  resourceAttributes:\n    namespace: gen\n    verb: get\n    resource: pods\n'), /^true$/);
  t.regex(await ok(['create', '-o', 'jsonpath={.status.allowed}', '-f', '-'],
    'apiVersion: authorization.k8s.io/v1\nkind: LocalSubjectAccessReview\nmetadata:\n  namespace: gen\nspec:\n  user: jane\n  resourceAttributes:\n    namespace: gen\n    verb: delete\n    resource: pods\n'), /^false$/);
  // Asking about someone else needs create on subjectaccessreviews, which nobody lacks.
  const sar = await e.kubectl(['create', '-f', '-'], { kubeconfig: nobody,
    input: 'apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: jane\n  resourceAttributes:\n    verb: get\n    resource: pods\n' });
  t.regex(sar.stderr, /subjectaccessreviews.authorization.k8s.io is forbidden: User "nobody" cannot create resource "subjectaccessreviews"/);
  const cs = await e.kubectl(['get', 'componentstatuses']);
  t.is(cs.code, 0, cs.stderr);
  t.regex(cs.stderr, /v1 ComponentStatus is deprecated in v1\.19\+/);
  t.regex(cs.stdout, /NAME\s+STATUS\s+MESSAGE\s+ERROR\netcd-0\s+Healthy\s+ok\s*\netcd-1\s+Healthy\s+ok\s*\netcd-2\s+Healthy\s+ok/);
  t.regex(await ok(['get', 'apiservices']), /v1\.apps\s+Local\s+True/);
  t.regex(await ok(['get', 'apiservice', 'v1.storage.k8s.io', '-o', 'jsonpath={.status.conditions[0].type}={.status.conditions[0].status}']), /^Available=True$/);
});
