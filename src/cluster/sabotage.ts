/** Broken-on-purpose components for chaos acceptance runs (ClusterOptions.sabotage). */
/**
 * What a sabotaged cluster gets wrong, each the bug a verdict must catch:
 * - `etcd-skips-fsync`: the members acknowledge what they never fsync (acked-writes-present after a power cut of every master);
 * - `controller-manager-without-leader-election`, `scheduler-without-leader-election`: every instance active at once (single-active-*);
 * - `scheduler-skips-assume`: pods scheduled before an earlier binding is seen land on a full node (placement-safe);
 * - `kube-proxy-keeps-dead-endpoints`: kube-proxy routes to endpoints marked not ready (service-availability when a worker dies);
 * - `apiserver-watch-skips-events`: the apiservers' watches skip one change in 25, by revision (watch-guarantees).
 */
export const sabotages = ['etcd-skips-fsync', 'controller-manager-without-leader-election', 'scheduler-without-leader-election', 'scheduler-skips-assume', 'kube-proxy-keeps-dead-endpoints', 'apiserver-watch-skips-events'] as const;
export type Sabotage = (typeof sabotages)[number];
