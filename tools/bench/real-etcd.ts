import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Three real etcd members (Debian's etcd-server 3.4) on loopback, the benchmark's anchor. Each
 * member gets its own 127.30.0.N address; data lives on the same disk as pocketkube's.
 */
export class RealEtcd {
  private constructor(
    private readonly processes: ChildProcess[],
    private readonly dataDir: string,
    readonly endpoints: string[],
  ) {}

  static available(): boolean {
    return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
  }

  static async start(baseDir?: string): Promise<RealEtcd> {
    const dataDir = mkdtempSync(join(baseDir ?? tmpdir(), 'real-etcd-'));
    const names = ['m1', 'm2', 'm3'];
    const ip = (i: number) => `127.30.0.${i + 1}`;
    const cluster = names.map((name, i) => `${name}=http://${ip(i)}:2380`).join(',');
    const processes = names.map((name, i) =>
      spawn('etcd', [
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
      ], { stdio: 'ignore' }),
    );
    return new RealEtcd(processes, dataDir, names.map((_, i) => `http://${ip(i)}:2379`));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
