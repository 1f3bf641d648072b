import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';

export interface RealEtcdOptions {
  /** etcd's --heartbeat-interval (default 100 ms, etcd's own). */
  readonly heartbeatMs?: number;
  /** etcd's --election-timeout (default 1000 ms, etcd's own); etcd randomises it to [t, 2t). */
  readonly electionTimeoutMs?: number;
}

/**
 * Three real etcd members (Debian's etcd-server 3.4) on loopback, the benchmark's anchor. Each
 * member gets its own 127.30.0.N address; data lives on the same disk as pocketkube's.
 */
export class RealEtcd {
  private readonly processes: (ChildProcess | undefined)[];
  /** One client per member, for its own status (which member it follows). */
  private readonly statusClients: Etcd3[];

  private constructor(
    private readonly args: readonly (readonly string[])[],
    private readonly dataDir: string,
    readonly endpoints: string[],
  ) {
    this.processes = args.map((a) => spawnMember(a));
    this.statusClients = endpoints.map((endpoint) => new Etcd3({ hosts: [endpoint], dialTimeout: 1_000 }));
  }

  static available(): boolean {
    return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
  }

  static async start(baseDir?: string, options: RealEtcdOptions = {}): Promise<RealEtcd> {
    const dataDir = mkdtempSync(join(baseDir ?? tmpdir(), 'real-etcd-'));
    const names = ['m1', 'm2', 'm3'];
    const ip = (i: number) => `127.30.0.${i + 1}`;
    const cluster = names.map((name, i) => `${name}=http://${ip(i)}:2380`).join(',');
    const args = names.map((name, i) => [
      '--name', name,
      '--data-dir', join(dataDir, name),
      '--listen-client-urls', `http://${ip(i)}:2379`,
      '--advertise-client-urls', `http://${ip(i)}:2379`,
      '--listen-peer-urls', `http://${ip(i)}:2380`,
      '--initial-advertise-peer-urls', `http://${ip(i)}:2380`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', 'pocketkube-bench',
      '--log-level', 'error',
      ...(options.heartbeatMs === undefined ? [] : ['--heartbeat-interval', String(options.heartbeatMs)]),
      ...(options.electionTimeoutMs === undefined ? [] : ['--election-timeout', String(options.electionTimeoutMs)]),
    ]);
    return new RealEtcd(args, dataDir, names.map((_, i) => `http://${ip(i)}:2379`));
  }

  /** The index of the member that every live member names as leader, or undefined (none yet, or they disagree). */
  async leader(timeoutMs = 500): Promise<number | undefined> {
    const statuses = await Promise.all(this.statusClients.map((client, i) =>
      this.processes[i] === undefined ? undefined : withTimeout(client.maintenance.status(), timeoutMs).catch(() => undefined)));
    const live = statuses.filter((s) => s !== undefined);
    if (live.length === 0) return undefined;
    const leaderId = live[0]!.leader;
    if (leaderId === '0' || !live.every((s) => s.leader === leaderId)) return undefined;
    const index = statuses.findIndex((s) => s?.header.member_id === leaderId);
    return index < 0 ? undefined : index;
  }

  /** Every member runs, answers, and names the same leader. */
  async whole(timeoutMs = 500): Promise<boolean> {
    if (this.processes.some((p) => p === undefined)) return false;
    const statuses = await Promise.all(this.statusClients.map((client) => withTimeout(client.maintenance.status(), timeoutMs).catch(() => undefined)));
    const leaderId = statuses[0]?.leader;
    return leaderId !== undefined && leaderId !== '0' && statuses.every((s) => s !== undefined && s.leader === leaderId);
  }

  /** SIGKILL one member's process (a crash: no goodbye; the kernel closes its sockets). */
  async kill(index: number): Promise<void> {
    const child = this.processes[index];
    this.processes[index] = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Start a killed member again on its data directory. */
  restart(index: number): void {
    if (this.processes[index] !== undefined) throw new Error(`etcd member ${index} is running`);
    this.processes[index] = spawnMember(this.args[index]!);
  }

  async stop(): Promise<void> {
    for (const client of this.statusClients) client.close();
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function spawnMember(args: readonly string[]): ChildProcess {
  return spawn('etcd', [...args], { stdio: 'ignore' });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error instanceof Error ? error : new Error(String(error))); });
  });
}
