/** The DNS addon's manifests, as kubeadm's CoreDNS addon has them. */
import test from 'ava';
import { asRecord, type KubeObject } from '../../src/api/index.js';
import { defaultClusterDnsIp, dnsAddon, dnsImageRepository } from '../../src/dns/addon.js';
import { ImageRegistry } from '../../src/cri/image.js';
import { dnsImage } from '../../src/dns/image.js';

const find = (objs: KubeObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata?.name === name);

test('kube-dns on the cluster DNS address, a 2-replica coredns Deployment on the built-in image, and its RBAC', (t) => {
  const objs = dnsAddon();
  const svc = find(objs, 'Service', 'kube-dns')!;
  t.is(svc.metadata?.namespace, 'kube-system');
  t.like(svc['spec'], { clusterIP: defaultClusterDnsIp, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] });
  const deployment = find(objs, 'Deployment', 'coredns')!;
  t.is(asRecord(deployment['spec'])?.['replicas'], 2);
  const image = String((deployment['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image);
  const registry = new ImageRegistry().register(dnsImage);
  const found = registry.lookup(image);
  t.true(found.ok && found.image.repository === dnsImageRepository, 'the Deployment\'s image is the built-in DNS image');
  t.truthy(find(objs, 'ServiceAccount', 'coredns'));
  t.truthy(find(objs, 'ClusterRole', 'system:coredns'));
  t.like(find(objs, 'ClusterRoleBinding', 'system:coredns'), { subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }] });
  t.is(asRecord(find(dnsAddon({ clusterIp: '127.96.9.10', replicas: 1 }), 'Service', 'kube-dns')?.['spec'])?.['clusterIP'], '127.96.9.10');
});
