/**
 * The two timing profiles (DESIGN.md §4): upstream Kubernetes/etcd defaults, and `fast` for
 * experiments and tests. Every component reads its timings from one of these.
 */
export type ProfileName = 'kubernetes' | 'fast';

export interface TimingProfile {
  readonly name: ProfileName;
  /** etcd: one Raft tick; heartbeat and election timeout are counted in ticks of this length. */
  readonly etcdTickMs: number;
  readonly etcdHeartbeatTicks: number;
  /** Base election timeout in ticks; each member randomises over [T, 2T). */
  readonly etcdElectionTicks: number;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly nodeLeaseRenewMs: number;
  readonly nodeGracePeriodMs: number;
  /** kubelet: how often node status is computed (--node-status-update-frequency) and posted at the latest without changes (nodeStatusReportFrequency). */
  readonly nodeStatusUpdateMs: number;
  readonly nodeStatusReportMs: number;
  /** kubelet: the PLEG relist period (catches runtime events lost on the way). */
  readonly plegRelistMs: number;
  /** kubelet: how often it writes metrics.k8s.io PodMetrics/NodeMetrics (metrics-server's --metric-resolution). */
  readonly metricsResolutionMs: number;
  readonly notReadyTolerationMs: number;
  readonly crashLoopBackoffStartMs: number;
  readonly crashLoopBackoffMaxMs: number;
  /** HPA: --horizontal-pod-autoscaler-sync-period and the default scale-down stabilization window. */
  readonly hpaSyncPeriodMs: number;
  readonly hpaDownscaleStabilizationMs: number;
  /** Scales the scheduler's pod backoff (1 s → 10 s upstream) and its unschedulable pool's maximum stay (5 min). */
  readonly schedulerBackoffScale: number;
  /** How often the apiservers compact etcd, keeping one interval of history (kube-apiserver's --etcd-compaction-interval). */
  readonly apiserverCompactionIntervalMs: number;
}

const PROFILES: Readonly<Record<ProfileName, TimingProfile>> = {
  kubernetes: {
    name: 'kubernetes',
    etcdTickMs: 100,
    etcdHeartbeatTicks: 1,
    etcdElectionTicks: 10,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    nodeLeaseRenewMs: 10_000,
    nodeGracePeriodMs: 50_000,
    nodeStatusUpdateMs: 10_000,
    nodeStatusReportMs: 300_000,
    plegRelistMs: 1_000,
    metricsResolutionMs: 15_000,
    notReadyTolerationMs: 300_000,
    crashLoopBackoffStartMs: 10_000,
    crashLoopBackoffMaxMs: 300_000,
    hpaSyncPeriodMs: 15_000,
    hpaDownscaleStabilizationMs: 300_000,
    apiserverCompactionIntervalMs: 300_000,
    schedulerBackoffScale: 1,
  },
  fast: {
    name: 'fast',
    // 10 ms ticks: 50 ms heartbeats, 300 ms election timeout randomised over 30 distinct values,
    // so two followers rarely time out in the same tick and split the vote.
    etcdTickMs: 10,
    etcdHeartbeatTicks: 5,
    etcdElectionTicks: 30,
    leaseDurationMs: 1_500,
    renewDeadlineMs: 1_000,
    retryPeriodMs: 200,
    nodeLeaseRenewMs: 500,
    nodeGracePeriodMs: 3_000,
    nodeStatusUpdateMs: 1_000,
    nodeStatusReportMs: 10_000,
    plegRelistMs: 200,
    metricsResolutionMs: 2_000,
    notReadyTolerationMs: 5_000,
    crashLoopBackoffStartMs: 100,
    crashLoopBackoffMaxMs: 5_000,
    hpaSyncPeriodMs: 1_000,
    hpaDownscaleStabilizationMs: 10_000,
    apiserverCompactionIntervalMs: 60_000,
    // 100 ms → 1 s backoff, 30 s in the unschedulable pool: a rejected pod retries within a test's patience.
    schedulerBackoffScale: 0.1,
  },
};

export function profile(name: ProfileName): TimingProfile {
  const found = PROFILES[name];
  if (!found) throw new Error(`unknown timing profile ${JSON.stringify(name)}: use "kubernetes" or "fast"`);
  return found;
}
