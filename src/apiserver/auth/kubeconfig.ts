/**
 * The kubeconfig kubectl and @kubernetes/client-node use: the cluster CA embedded (so TLS is verified,
 * no skip-verify) and a bearer token (kubectl sends tokens only over https).
 */
import { stringify } from 'yaml';
import { secretFileMode, writeAtomic } from './files.js';

export interface KubeconfigInput {
  /** e.g. https://127.0.0.1:6443 (the front door). */
  readonly server: string;
  readonly caCertPem: string;
  readonly token: string;
  readonly clusterName?: string;
  readonly userName?: string;
  readonly namespace?: string;
}

function kubeconfigObject(input: KubeconfigInput): Record<string, unknown> {
  if (!input.server.startsWith('https://')) throw new Error('kubeconfig: the server must be https:// (bearer tokens need TLS)');
  const cluster = input.clusterName ?? 'pocketkube';
  const user = input.userName ?? 'admin';
  const context = `${user}@${cluster}`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: {
      server: input.server,
      'certificate-authority-data': Buffer.from(input.caCertPem, 'utf8').toString('base64'),
    } }],
    users: [{ name: user, user: { token: input.token } }],
    contexts: [{ name: context, context: { cluster, user, ...(input.namespace ? { namespace: input.namespace } : {}) } }],
    'current-context': context,
    preferences: {},
  };
}

/** YAML text; write it with mode 0600, it holds a credential. */
export function kubeconfigYaml(input: KubeconfigInput): string {
  return stringify(kubeconfigObject(input));
}

/** Writes the kubeconfig atomically with mode 0600 (it holds a credential). */
export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  await writeAtomic(path, kubeconfigYaml(input), secretFileMode);
}
