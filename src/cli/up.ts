/**
 * `pocketkube up`: the HA control plane in the foreground until SIGINT/SIGTERM. Prints how to use
 * it (`export KUBECONFIG=...`) and one `ready:` line once every apiserver answers /readyz.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AddressInUseError, Cluster, DataDirLockedError, type ClusterOptions } from '../cluster/index.js';
import type { ProfileName } from '../runtime/profiles.js';
import { serveControl } from './control.js';

export interface UpFlags {
  readonly dataDir?: string;
  readonly kubeconfig?: string;
  readonly profile: string;
  readonly port: string;
  readonly host: string;
  readonly apiserverNetwork?: string;
  readonly apiserverPort?: string;
  readonly masters: string;
  readonly workers: string;
  readonly serviceNetwork?: string;
  readonly podNetwork?: string;
}

/** A bad flag: the message names the problem and the fix; the command exits 2. */
class UsageError extends Error {}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 0 || n > 65_535) {
    throw new UsageError(`${flag} must be a TCP port number (0-65535), not "${value}". Example: ${flag} 6443`);
  }
  return n;
}

function profileOf(value: string): ProfileName {
  if (value === 'fast' || value === 'kubernetes') return value;
  throw new UsageError(`--profile must be "fast" or "kubernetes", not "${value}". Example: --profile fast`);
}

function count(value: string, flag: string, allowed: readonly number[]): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !allowed.includes(n)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value}".`);
  return n;
}

/** Turns the command line into cluster options, or throws UsageError. */
function upOptions(flags: UpFlags): ClusterOptions {
  const network = flags.apiserverNetwork;
  if (network !== undefined && !/^127\.\d{1,3}\.\d{1,3}$/.test(network)) {
    throw new UsageError(`--apiserver-network must be a loopback /24 prefix like 127.10.0, not "${network}".`);
  }
  const workers = count(flags.workers, '--workers', Array.from({ length: 51 }, (_, i) => i));
  const serviceNetwork = flags.serviceNetwork;
  if (serviceNetwork !== undefined && !/^127\.\d{1,3}$/.test(serviceNetwork)) {
    throw new UsageError(`--service-network must be a loopback /16 prefix like 127.96, not "${serviceNetwork}".`);
  }
  const podNetwork = flags.podNetwork;
  if (podNetwork !== undefined && !/^127\.\d{1,3}\.0\.0\/16$/.test(podNetwork)) {
    throw new UsageError(`--pod-network must be a loopback /16 like 127.244.0.0/16, not "${podNetwork}".`);
  }
  return {
    masters: count(flags.masters, '--masters', [1, 3, 5]),
    workers,
    profile: profileOf(flags.profile),
    frontDoor: { host: flags.host, port: port(flags.port, '--port') },
    ...(flags.dataDir === undefined ? {} : { dataDir: resolve(flags.dataDir) }),
    ...(flags.kubeconfig === undefined ? {} : { kubeconfigPath: resolve(flags.kubeconfig) }),
    ...(network === undefined ? {} : { apiserverNetwork: network }),
    ...(flags.apiserverPort === undefined ? {} : { apiserverPort: port(flags.apiserverPort, '--apiserver-port') }),
    ...(serviceNetwork === undefined ? {} : { serviceNetwork }),
    ...(podNetwork === undefined ? {} : { podNetwork }),
  };
}

/**
 * What to tell a user whose cluster did not start: for the failures a new user meets, what
 * happened and the flag or step that fixes it; never a stack trace.
 */
function startFailure(error: unknown): string {
  if (error instanceof AddressInUseError) {
    const fix = error.user.kind === 'front-door'
      ? 'pass another --port (--port 0 picks a free one)'
      : `pass another --apiserver-port, or --apiserver-network (e.g. 127.11.0) to move every apiserver`;
    return `${error.message}. Stop the other process (another "pocketkube up"? find it with: ss -ltnp 'sport = :${error.port}'), or ${fix}.`;
  }
  if (error instanceof DataDirLockedError) {
    return `${error.message}. Stop that cluster first (Ctrl-C where it runs, or kill ${error.holderPid}), or pass another --data-dir. ` +
      `If pid ${error.holderPid} is not a pocketkube, remove ${error.lockFile}.`;
  }
  return `the cluster did not start: ${error instanceof Error ? error.message : String(error)}`;
}

/** Starts the cluster, prints how to reach it, and resolves with the exit code once a signal stopped it. */
async function runUp(flags: UpFlags): Promise<number> {
  let options: ClusterOptions;
  try {
    options = upOptions(flags);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`pocketkube up: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const stopRequested = new Promise<NodeJS.Signals>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  let cluster: Cluster;
  try {
    cluster = await Cluster.start(options);
  } catch (error) {
    console.error(`pocketkube up: ${startFailure(error)}`);
    return 1;
  }
  const control = await serveControl(cluster);
  console.log(`data directory: ${cluster.dataDir}${options.dataDir === undefined ? ' (temporary: removed on stop; keep state with --data-dir)' : ''}`);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
  if (cluster.workers.length > 0) console.log(`services: ClusterIPs of ${cluster.serviceNetwork}.0.0/16 answer from this host (curl, dig @${cluster.serviceNetwork}.0.10)`);
  console.log(`ready: ${cluster.masters.length} masters, ${cluster.workers.length} workers, API at ${cluster.server}`);
  const signal = await stopRequested;
  console.log(`${signal}: stopping`);
  await control.close();
  await cluster.stop();
  console.log('stopped');
  return 0;
}

/** Registers `up` on the program. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start a cluster (3 masters: etcd + apiserver each, the front door) in the foreground; Ctrl-C stops it')
    .option('--data-dir <dir>', 'keep PKI, tokens and etcd data here across runs (default: a temporary directory removed on stop)')
    .option('--kubeconfig <path>', 'where to write the kubeconfig (default: <data-dir>/kubeconfig)')
    .option('--profile <name>', 'timing profile: fast or kubernetes', 'fast')
    .option('--port <port>', 'front door port', '6443')
    .option('--host <ip>', 'front door address', '127.0.0.1')
    .option('--apiserver-network <prefix>', 'the apiservers bind <prefix>.N for master-N', '127.10.0')
    .option('--apiserver-port <port>', 'the port each apiserver binds on its own address', '6443')
    .option('--masters <n>', 'master hosts: 1, 3 or 5', '3')
    .option('--workers <n>', 'worker hosts worker-1..N, each a node with kubelet, container runtime and kube-proxy (0: control plane only)', '2')
    .option('--service-network <prefix>', 'ClusterIPs come from <prefix>.0.0/16 (two clusters with workers on one host need different ones; default 127.96)')
    .option('--pod-network <cidr>', 'pod IPs come from this /16, a /24 per node (default 127.244.0.0/16)')
    .showHelpAfterError('(run "pocketkube up --help" to see every flag)')
    .exitOverride((error) => {
      // commander's own errors (unknown option, missing value): usage errors, exit code 2.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') process.exit(0);
      process.exit(2);
    })
    .action(async (flags: UpFlags) => {
      process.exit(await runUp(flags));
    });
}
