/**
 * The library entry point: `Cluster.start(options)` runs the HA control plane on real threads —
 * hosts `master-1..N`, each with an `etcd` member (Raft) and an `apiserver` actor serving HTTPS
 * on its master's address — plus the front door on the main thread, the PKI, the static tokens
 * and a kubeconfig for kubectl. This is a shell: it touches the disk, sockets and the wall clock.
 */
import { readyz } from '../apiserver/readyz.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { address, type Address } from '../primitives/address.js';
import type { ActorSpec, HostSpec } from '../runtime/actor.js';
import type { ProfileName } from '../runtime/profiles.js';
import type { ActorSystem } from '../runtime/system.js';
import { ThreadedSystem } from '../runtime/threaded.js';
import { systemPort } from '../client/actor-port.js';
import { FrontDoor } from '../apiserver/front-door.js';
import { chaosMeshCrds } from '../controllers/chaosmesh/crds.js';
import { defaultServingSans, issueServiceAccountToken, loadOrCreatePki, loadOrCreateStaticTokens, writeKubeconfig, type Pki } from '../apiserver/auth/index.js';
import { memberId, type EtcdConfig } from '../etcd/messages.js';
import type { ApiserverConfig, ApiserverReply } from '../apiserver/messages.js';
import type { AuditEvent } from '../apiserver/audit.js';
import { wellKnown } from '../apiserver/auth/user.js';
import { buildProfiles, parseSchedulerConfiguration } from '../scheduler/config.js';
import { WaitingPods } from '../scheduler/framework.js';
import type { SchedulerConfig, SchedulerExplain, SchedulerStatus } from '../scheduler/messages.js';
import { SeededPrng } from '../primitives/prng.js';
import type { ControllerManagerConfig, ControllerManagerStatus, OperatorConfig } from '../controllers/messages.js';
import { isOperator, operatorActorName, type Operator } from '../controllers/operator.js';
import { ActorApiTransport, type ActorApiTransportOptions } from '../apiserver/actor-transport.js';
import { builtinRegistry } from '../../actors/registry.js';
import { sleep } from '../primitives/clock.js';
import { wallClock } from '../runtime/real-clock.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { addressInUse } from './errors.js';
import { sabotages, type Sabotage } from './sabotage.js';
import type { ClusterHandle } from './handle.js';
import { clusterDnsIp, defaultPodNetwork, defaultServiceNetwork, nodeActors, planNodes, type NodePlan } from './nodes.js';
import { ServiceFront } from './service-front.js';
import { dnsAddon } from '../dns/addon.js';
import { processRuntimeClass } from '../cri/host-process.js';
import { defaultServiceProxyPort } from '../proxy/messages.js';
import { KubeClient } from '../client/client.js';
import { isAlreadyExists } from '../client/errors.js';

export interface ClusterOptions {
  /** Master hosts, each running etcd and an apiserver: 1, 3 (default) or 5. */
  readonly masters?: number;
  /**
   * Worker hosts `worker-1..N`, each a node running a kubelet, a container runtime and kube-proxy
   * (default 0: a control plane only). With any worker the masters are nodes too, tainted
   * node-role.kubernetes.io/control-plane:NoSchedule, and cluster DNS runs as an addon.
   */
  readonly workers?: number;
  /** The /16 of pod addresses, a /24 per node (default 127.244.0.0/16, DESIGN §5). */
  readonly podNetwork?: string;
  /** First two octets of the Service ClusterIP /16 (default `127.96`: `.0.1` kubernetes, `.0.10` cluster DNS). */
  readonly serviceNetwork?: string;
  readonly profile?: ProfileName;
  /**
   * Keeps PKI, tokens, etcd data and the kubeconfig across runs; default a temporary directory removed
   * on stop. Held by one running cluster at a time (`pocketkube.lock` holds its pid; see data-dir-lock.ts).
   */
  readonly dataDir?: string;
  /** Where the front door listens (default 127.0.0.1:6443, DESIGN §5). Port 0 picks a free port. */
  readonly frontDoor?: { readonly host?: string; readonly port?: number };
  /** The apiservers bind `<apiserverNetwork>.<N>` for master-N (default `127.10.0`). */
  readonly apiserverNetwork?: string;
  /** The port every apiserver binds on its own address (default 6443). */
  readonly apiserverPort?: number;
  /** Where the kubeconfig is written (default `<dataDir>/kubeconfig`). */
  readonly kubeconfigPath?: string;
  readonly seed?: number;
  /** How long to wait for every apiserver to be ready (default 30 s). */
  readonly readyTimeoutMs?: number;
  /** Front door health-check period (default 200 ms: a dead master leaves the rotation quickly). */
  readonly healthIntervalMs?: number;
  /** Run a controller-manager on every master (default true; one is active through its Lease). */
  readonly controllerManager?: boolean;
  /**
   * Run a kube-scheduler on every master (default true; one is active through its Lease), with
   * upstream's default configuration or the KubeSchedulerConfiguration YAML given, checked
   * before any thread starts (an unknown plugin or bad args is refused, naming them).
   */
  readonly scheduler?: boolean | { readonly configYaml?: string };
  /**
   * Users' controllers (`defineOperator`), each run on every master as actor `operator-<name>`,
   * one active through Lease kube-system/operator-<name>. They act as the cluster admin.
   */
  readonly operators?: readonly Operator[];
  /**
   * Deliberately broken components, to show that a chaos verdict catches them (never in a real
   * cluster): see `Sabotage`.
   */
  readonly sabotage?: readonly Sabotage[];
}


export const defaultApiserverNetwork = '127.10.0';
const defaultReadyTimeoutMs = 30_000;
const readyPollMs = 50;
const maxMasters = 5;

interface Resolved {
  readonly masters: number;
  readonly workers: number;
  readonly podNetwork: string;
  readonly serviceNetwork: string;
  readonly profile: ProfileName;
  readonly dataDir: string;
  readonly ownsDataDir: boolean;
  readonly frontDoorHost: string;
  readonly frontDoorPort: number;
  readonly network: string;
  readonly apiserverPort: number;
  readonly kubeconfigPath: string;
  readonly seed: number;
  readonly controllerManager: boolean;
  /** Absent: no scheduler. */
  readonly scheduler: { readonly configYaml?: string } | undefined;
  readonly operators: readonly Operator[];
  readonly sabotage: ReadonlySet<Sabotage>;
}

function resolveScheduler(option: ClusterOptions['scheduler']): Resolved['scheduler'] {
  if (option === false) return undefined;
  if (option === undefined || option === true || option.configYaml === undefined) return {};
  const parsed = parseSchedulerConfiguration(option.configYaml);
  if (!parsed.ok) throw new Error(`scheduler configuration refused: ${parsed.errors.join('; ')}`);
  // Building the profiles checks plugin names and args against the built-in registry.
  const built = buildProfiles(parsed.value, { prng: new SeededPrng(1), waitingPods: new WaitingPods() });
  if (!built.ok) throw new Error(`scheduler configuration refused: ${built.errors.join('; ')}`);
  return { configYaml: option.configYaml };
}

function checkedSabotage(list: readonly string[]): ReadonlySet<Sabotage> {
  const unknown = list.filter((s) => !(sabotages as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`unknown sabotage ${unknown.map((s) => JSON.stringify(s)).join(', ')} (expected ${sabotages.join(', ')})`);
  return new Set(list as readonly Sabotage[]);
}

function resolve(options: ClusterOptions): Resolved {
  const masters = options.masters ?? 3;
  if (![1, 3, maxMasters].includes(masters)) throw new Error(`a cluster has 1, 3 or 5 masters (etcd needs an odd quorum), not ${masters}`);
  const serviceNetwork = options.serviceNetwork ?? defaultServiceNetwork;
  if (!/^127\.\d{1,3}$/.test(serviceNetwork)) throw new Error(`serviceNetwork must look like 127.X (a loopback /16), not ${JSON.stringify(serviceNetwork)}`);
  const network = options.apiserverNetwork ?? defaultApiserverNetwork;
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(network)) throw new Error(`apiserverNetwork must look like 127.X.Y (a loopback /24), not ${JSON.stringify(network)}`);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pocketkube-cluster-'));
  return {
    masters, workers: options.workers ?? 0, podNetwork: options.podNetwork ?? defaultPodNetwork, serviceNetwork,
    profile: options.profile ?? 'fast', dataDir, ownsDataDir, controllerManager: options.controllerManager ?? true,
    scheduler: resolveScheduler(options.scheduler), operators: checkedOperators(options.operators ?? []), sabotage: checkedSabotage(options.sabotage ?? []),
    frontDoorHost: options.frontDoor?.host ?? '127.0.0.1', frontDoorPort: options.frontDoor?.port ?? 6443,
    network, apiserverPort: options.apiserverPort ?? 6443,
    kubeconfigPath: options.kubeconfigPath ?? join(dataDir, 'kubeconfig'), seed: options.seed ?? 1,
  };
}

export class Cluster implements ClusterHandle {
  private stopped = false;

  private constructor(
    /** The actor system: chaos goes here (killHost, restartHost, network faults). */
    readonly system: ActorSystem,
    readonly frontDoor: FrontDoor,
    readonly pki: Pki,
    readonly adminToken: string,
    readonly kubeconfigPath: string,
    readonly dataDir: string,
    readonly masters: readonly string[],
    /** `https://host:port` of each master's apiserver, in master order. */
    readonly apiserverUrls: readonly string[],
    private readonly ownsDataDir: boolean,
    private readonly withControllerManager: boolean,
    private readonly withScheduler: boolean,
    private readonly lock: DataDirLock,
    /** The host's way to ClusterIPs (absent without nodes). */
    readonly serviceFront: ServiceFront | undefined,
    /** Worker hosts, in order (the masters are nodes too when there are any). */
    readonly workers: readonly string[],
    /** First two octets of the Service ClusterIP /16. */
    readonly serviceNetwork: string,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const o = resolve(options);
    const masters = Array.from({ length: o.masters }, (_, i) => `master-${i + 1}`);
    const ips = masters.map((_, i) => `${o.network}.${i + 1}`);
    const nodes = o.workers === 0 ? [] : planNodes(masters, ips, o.workers, o.network);
    let system: ThreadedSystem | undefined;
    let door: FrontDoor | undefined;
    let lock: DataDirLock | undefined;
    let front: ServiceFront | undefined;
    try {
      // First: a data directory in use by a running cluster is also why its ports are taken, and the clearer reason.
      lock = lockDataDir(o.dataDir);
      const sans = defaultServingSans(ips, { frontDoorIp: o.frontDoorHost, kubernetesServiceIp: `${o.serviceNetwork}.0.1` });
      const [pki, tokens] = await Promise.all([loadOrCreatePki(o.dataDir, sans), loadOrCreateStaticTokens(o.dataDir, { nodeNames: nodes.length === 0 ? masters : nodes.map((n) => n.name) })]);
      // Taken addresses fail here, at once, instead of as apiserver actors crash-looping in their threads.
      door = await FrontDoor.listen({
        backends: ips.map((host) => ({ host, port: o.apiserverPort })), caPem: pki.ca.certPem,
        host: o.frontDoorHost, port: o.frontDoorPort, healthIntervalMs: options.healthIntervalMs ?? 200,
      }).catch((error: unknown) => { throw addressInUse(error, o.frontDoorHost, o.frontDoorPort, { kind: 'front-door' }); });
      await Promise.all(ips.map((ip, i) => assertBindable(ip, o.apiserverPort, masters[i]!)));
      system = await ThreadedSystem.start({ registry: builtinRegistry(), hosts: hostSpecs(masters, ips, nodes, o, pki, tokens.entries, tokens.adminToken), seed: o.seed, dataDir: join(o.dataDir, 'hosts') });
      await writeKubeconfig(o.kubeconfigPath, { server: door.url, caCertPem: pki.ca.certPem, token: tokens.adminToken });
      const urls = ips.map((ip) => `https://${ip}:${o.apiserverPort}`);
      await waitReady([...urls, door.url], pki.ca.certPem, options.readyTimeoutMs ?? defaultReadyTimeoutMs);
      if (nodes.length > 0) front = await startNodeServices(system, masters, nodes, o, tokens.adminToken);
      return new Cluster(system, door, pki, tokens.adminToken, o.kubeconfigPath, o.dataDir, masters, urls, o.ownsDataDir, o.controllerManager, o.scheduler !== undefined, lock, front,
        nodes.filter((n) => !n.master).map((n) => n.name), o.serviceNetwork);
    } catch (error) {
      front?.stop();
      await door?.close();
      await system?.stop();
      lock?.release();
      if (o.ownsDataDir) rmSync(o.dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The front door URL (what the kubeconfig points at). */
  get server(): string {
    return this.frontDoor.url;
  }

  /** The apiserver actors' addresses, in master order. */
  get apiservers(): Address[] {
    return this.masters.map((m) => address(m, 'apiserver'));
  }

  /** A fresh ApiTransport over actor messages (through the network relay, with failover), as the admin unless `token` says otherwise. */
  apiTransport(options: Partial<ActorApiTransportOptions> = {}): ActorApiTransport {
    return new ActorApiTransport(systemPort(this.system), { servers: this.apiservers, token: this.adminToken, ...options });
  }

  /** A bearer token for the ServiceAccount `namespace/name` (uid from its object), signed by the cluster, as a pod would mount it. */
  serviceAccountToken(namespace: string, name: string, uid: string, expirationSeconds = 3_600): string {
    return issueServiceAccountToken({
      signingKey: this.pki.serviceAccount.privateKeyPem, namespace, serviceAccountName: name, serviceAccountUid: uid,
      nowSeconds: Date.now() / 1000, expirationSeconds,
    });
  }

  /** The controller-manager actors' addresses, in master order (none when started without them). */
  get controllerManagers(): Address[] {
    return this.withControllerManager ? this.masters.map((m) => address(m, 'controller-manager')) : [];
  }

  /** Each live instance's status of the operator `name` (as `controllerManagerStatus`: active or not, the Lease holder, its terms). */
  async operatorStatus(name: string, timeoutMs = 2_000): Promise<ControllerManagerStatus[]> {
    const replies = await Promise.allSettled(this.masters.map((m) =>
      this.system.ask<ControllerManagerStatus>(address(m, operatorActorName(name)), { type: 'controllerManagerStatusRequest' }, { timeoutMs })));
    return replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** Each live controller-manager's status: active or not, the Lease holder it sees, its active intervals. */
  async controllerManagerStatus(timeoutMs = 2_000): Promise<ControllerManagerStatus[]> {
    const replies = await Promise.allSettled(this.controllerManagers.map((a) =>
      this.system.ask<ControllerManagerStatus>(a, { type: 'controllerManagerStatusRequest' }, { timeoutMs })));
    return replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** The scheduler actors' addresses, in master order (none when started without them). */
  get schedulers(): Address[] {
    return this.withScheduler ? this.masters.map((m) => address(m, 'scheduler')) : [];
  }

  /** Each live scheduler's status: active or not, the Lease holder it sees, its intervals, counts and queue. */
  async schedulerStatus(timeoutMs = 2_000): Promise<SchedulerStatus[]> {
    const replies = await Promise.allSettled(this.schedulers.map((a) =>
      this.system.ask<SchedulerStatus>(a, { type: 'schedulerStatusRequest' }, { timeoutMs })));
    return replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * The latest scheduling decision any scheduler holds for the pod "namespace/name" (the active
   * one's when it has one): per node each Filter's verdict, per Score plugin the scores.
   */
  async explainPod(pod: string, timeoutMs = 2_000): Promise<SchedulerExplain & { readonly scheduler?: string }> {
    const replies = await Promise.allSettled(this.schedulers.map(async (a) =>
      ({ scheduler: a, reply: await this.system.ask<SchedulerExplain>(a, { type: 'schedulerExplainRequest', pod }, { timeoutMs }) })));
    const found = replies.flatMap((r) => (r.status === 'fulfilled' && r.value.reply.decision !== undefined ? [r.value] : []));
    found.sort((a, b) => b.reply.decision!.atMs - a.reply.decision!.atMs);
    const best = found[0];
    return best === undefined ? { type: 'schedulerExplain', pod } : { ...best.reply, scheduler: best.scheduler };
  }

  /**
   * Every apiserver's audit log (writes only: who, what, when, the answer), each event with the
   * apiserver that recorded it. An apiserver that does not answer within `timeoutMs` is listed in
   * `unreachable`: its events are missing, which a check must treat as unknown, not as "none".
   */
  async auditEvents(timeoutMs = 2_000): Promise<{ events: (AuditEvent & { readonly apiserver: string })[]; unreachable: string[]; dropped: number }> {
    const events: (AuditEvent & { readonly apiserver: string })[] = [];
    const unreachable: string[] = [];
    let dropped = 0;
    for (const master of this.masters) {
      const apiserver = address(master, 'apiserver');
      try {
        for (let afterSeq = 0; ;) {
          const reply = await this.system.ask<Extract<ApiserverReply, { type: 'apiserverAudit' }>>(apiserver, { type: 'apiserverAuditRequest', afterSeq }, { timeoutMs });
          const page = reply.page;
          if (page === undefined || page.events.length === 0) break;
          dropped += page.dropped;
          for (const e of page.events) events.push({ ...e, apiserver });
          afterSeq = page.nextSeq;
        }
      } catch {
        unreachable.push(apiserver);
      }
    }
    return { events: events.sort((a, b) => a.requestReceivedMs - b.requestReceivedMs), unreachable, dropped };
  }

  /** The master whose apiserver served the front door's most recent connection. */
  lastServedBy(): string | undefined {
    return this.masterOf(this.frontDoor.lastBackend);
  }

  /** The master whose apiserver holds the most front-door connections now (it serves most API requests). */
  busiestMaster(): string | undefined {
    return this.masterOf(this.frontDoor.busiestBackend());
  }

  private masterOf(backend: { readonly host: string; readonly port: number } | undefined): string | undefined {
    if (backend === undefined) return undefined;
    const index = this.apiserverUrls.indexOf(`https://${backend.host}:${backend.port}`);
    return index < 0 ? undefined : this.masters[index];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.serviceFront?.stop();
    await this.frontDoor.close();
    await this.system.stop();
    this.lock.release();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function hostSpecs(masters: readonly string[], ips: readonly string[], nodes: readonly NodePlan[], o: Resolved, pki: Pki, tokens: ApiserverConfig['tokens'], adminToken: string): HostSpec[] {
  const apiservers = masters.map((m) => address(m, 'apiserver'));
  const nodeActorsOf = (node: NodePlan | undefined) => (node === undefined ? [] : nodeActors(node, {
    apiservers: node.master ? [address(node.name, 'apiserver'), ...apiservers.filter((a) => a !== address(node.name, 'apiserver'))] : apiservers,
    profile: o.profile, dataDir: o.dataDir, serviceNetwork: o.serviceNetwork, ...(o.sabotage.has('kube-proxy-keeps-dead-endpoints') ? { kubeProxyUsesUnreadyEndpoints: true } : {}),
    ...tokenAs(tokens, 'kubeletToken', `${wellKnown.nodeUserPrefix}${node.name}`), ...tokenAs(tokens, 'kubeProxyToken', wellKnown.kubeProxyUser),
  }));
  const workers = nodes.filter((n) => !n.master).map((n) => ({ name: n.name, actors: nodeActorsOf(n) }));
  return [...masterSpecs(masters, ips, nodes, o, pki, tokens, adminToken, nodeActorsOf), ...workers];
}

function masterSpecs(
  masters: readonly string[], ips: readonly string[], nodes: readonly NodePlan[], o: Resolved, pki: Pki, tokens: ApiserverConfig['tokens'], adminToken: string,
  nodeActorsOf: (node: NodePlan | undefined) => ActorSpec[],
): HostSpec[] {
  const etcdMembers = masters.map((m) => address(m, 'etcd'));
  const peers = etcdMembers.map((m) => memberId(m, 1));
  return masters.map((host, i) => {
    const etcd: EtcdConfig = { id: peers[i]!, peers, profile: o.profile, ...(o.sabotage.has('etcd-skips-fsync') ? { unsafeSkipFsync: true } : {}) };
    const apiserver: ApiserverConfig = {
      etcdMembers, profile: o.profile, serverAddress: `${o.frontDoorHost}:${o.frontDoorPort}`,
      https: { host: ips[i]!, port: o.apiserverPort, certPem: pki.serving.certPem, keyPem: pki.serving.keyPem },
      serviceAccountPublicKeyPem: pki.serviceAccount.publicKeyPem,
      serviceAccountSigningKeyPem: pki.serviceAccount.privateKeyPem, serviceIpPrefix: o.serviceNetwork,
      ...(tokens ? { tokens } : {}),
      ...(o.sabotage.has('apiserver-watch-skips-events') ? { unsafeWatchSkipEvery: 25 } : {}),
    };
    // Its own master's apiserver first: a partition that isolates the master isolates its controller-manager too.
    const controllerManager: ControllerManagerConfig = {
      apiservers: [address(host, 'apiserver'), ...masters.filter((m) => m !== host).map((m) => address(m, 'apiserver'))],
      profile: o.profile, ...tokenOf(tokens, wellKnown.controllerManagerUser), rootCaCertPem: pki.ca.certPem, clusterCidr: o.podNetwork,
      ...(o.sabotage.has('controller-manager-without-leader-election') ? { leaderElection: false } : {}),
      // Chaos Mesh's controllers act on pods: with nodes, whose start installs their CRDs.
      ...(nodes.length > 0 ? { chaosMesh: true } : {}),
    };
    const scheduler: SchedulerConfig = {
      apiservers: controllerManager.apiservers, profile: o.profile, ...tokenOf(tokens, wellKnown.schedulerUser),
      ...(o.scheduler?.configYaml === undefined ? {} : { configYaml: o.scheduler.configYaml }),
      ...(o.sabotage.has('scheduler-without-leader-election') ? { leaderElection: false } : {}),
      ...(o.sabotage.has('scheduler-skips-assume') ? { unsafeSkipAssume: true } : {}),
    };
    const operators = o.operators.map((op) => {
      const config: OperatorConfig = {
        apiservers: controllerManager.apiservers, profile: o.profile, token: adminToken, module: op.module, name: op.definition.name,
        preload: typeScriptLoaders(op.module),
      };
      return { name: operatorActorName(op.definition.name), kind: 'operator', config, restart: 'permanent' as const };
    });
    return {
      name: host,
      actors: [
        { name: 'etcd', kind: 'etcd', config: etcd, restart: 'permanent' },
        { name: 'apiserver', kind: 'apiserver', config: apiserver, restart: 'permanent' },
        ...(o.controllerManager ? [{ name: 'controller-manager', kind: 'controller-manager', config: controllerManager, restart: 'permanent' as const }] : []),
        ...(o.scheduler === undefined ? [] : [{ name: 'scheduler', kind: 'scheduler', config: scheduler, restart: 'permanent' as const }]),
        ...operators,
        ...nodeActorsOf(nodes.find((n) => n.name === host)),
      ],
    };
  });
}

/**
 * With nodes: the Service front (the host reaches every ClusterIP through any live node's
 * kube-proxy), the `process` RuntimeClass, Chaos Mesh's CRDs (PodChaos, Schedule: the
 * controller-manager runs their controllers) and the cluster DNS addon (a kube-system Deployment
 * and the kube-dns Service).
 */
async function startNodeServices(system: ActorSystem, masters: readonly string[], nodes: readonly NodePlan[], o: Resolved, adminToken: string): Promise<ServiceFront> {
  const transport = new ActorApiTransport(systemPort(system), { servers: masters.map((m) => address(m, 'apiserver')), token: adminToken });
  const front = new ServiceFront({
    transport, clock: wallClock, targets: nodes.map((n) => ({ host: n.ip, tcpPort: defaultServiceProxyPort, udpPort: defaultServiceProxyPort })),
    warn: (message) => process.emitWarning(message, 'PocketkubeServiceFront'),
  });
  front.start();
  const client = new KubeClient({ transport, clock: wallClock });
  for (const obj of [processRuntimeClass, ...chaosMeshCrds(), ...dnsAddon({ clusterIp: clusterDnsIp(o.serviceNetwork) })]) {
    await client.create({ apiVersion: obj.apiVersion!, kind: obj.kind! }, obj).catch((error: unknown) => { if (!isAlreadyExists(error)) throw error; });
  }
  return front;
}

function checkedOperators(operators: readonly Operator[]): readonly Operator[] {
  const names = new Set<string>();
  for (const op of operators) {
    if (!isOperator(op)) throw new Error('operators: each entry is the value defineOperator returned');
    if (names.has(op.definition.name)) throw new Error(`operators: two operators named ${op.definition.name}`);
    names.add(op.definition.name);
  }
  return operators;
}

/**
 * Worker threads start without this process's flags, so a TypeScript operator module is importable
 * there only after the loader this process runs under (`node --import tsx`, `--import
 * ./register.mjs`): those modules are imported first. A JavaScript module needs none.
 */
function typeScriptLoaders(moduleUrl: string): string[] {
  if (!/\.[mc]?ts$/.test(new URL(moduleUrl).pathname)) return [];
  const args = process.execArgv;
  const loaders: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = arg === '--import' ? args[++i] : arg.startsWith('--import=') ? arg.slice('--import='.length) : undefined;
    if (value === undefined) continue;
    loaders.push(value.startsWith('.') || value.startsWith('/') ? pathToFileURL(resolvePath(value)).href : value);
  }
  if (loaders.length === 0) throw new Error(`operator module ${moduleUrl} is TypeScript, but this process runs without a loader (--import): run under one, or build the module to JavaScript`);
  return loaders;
}

function tokenAs<K extends string>(tokens: ApiserverConfig['tokens'], key: K, username: string): Partial<Record<K, string>> {
  const entry = tokens?.find((t) => t.username === username);
  return entry === undefined ? {} : ({ [key]: entry.token } as Partial<Record<K, string>>);
}

function tokenOf(tokens: ApiserverConfig['tokens'], username: string): { token?: string } {
  const entry = tokens?.find((t) => t.username === username);
  return entry === undefined ? {} : { token: entry.token };
}

function assertBindable(host: string, port: number, master: string): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', (error) => {
      const typed = addressInUse(error, host, port, { kind: 'apiserver', master });
      fail(typed === error ? new Error(`apiserver address ${host}:${port} cannot be bound: ${error.message}`) : typed);
    });
    probe.listen(port, host, () => probe.close(() => done()));
  });
}

/** Polls `GET /readyz` on every URL until each answers 200. */
async function waitReady(urls: readonly string[], caPem: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(urls);
  while (pending.size > 0) {
    await Promise.all([...pending].map(async (url) => {
      if (await readyz(url, caPem)) pending.delete(url);
    }));
    if (pending.size === 0) return;
    if (performance.now() > deadline) throw new Error(`cluster not ready after ${timeoutMs} ms: ${[...pending].join(', ')} not ready`);
    await sleep(wallClock, readyPollMs);
  }
}

export { readyz };
