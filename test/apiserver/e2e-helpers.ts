/** End-to-end setup: cores over one LocalKv served over real HTTPS, a kubeconfig, and a kubectl runner. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import type { TokenIssuerConfig } from '../../src/apiserver/token-request.js';
import {
  Authenticator, createCa, createServingCert, defaultServingSans, type StaticTokenEntry, writeKubeconfig, wellKnown,
} from '../../src/apiserver/auth/index.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { RealClock } from '../../src/runtime/real-clock.js';

export const adminToken = 'admin-token-0123456789abcdef';
export const nobodyToken = 'nobody-token-0123456789abcdef';

export interface E2e {
  readonly kv: LocalKv;
  readonly clock: RealClock;
  readonly cores: ApiServerCore[];
  readonly servers: ApiHttpsServer[];
  readonly caPem: string;
  readonly dir: string;
  readonly kubeconfig: string;
  /** A kubeconfig for `url` with `token`. */
  kubeconfigFor(url: string, token: string, name: string): Promise<string>;
  kubectl(args: readonly string[], opts?: { kubeconfig?: string; timeoutMs?: number; input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startE2e(hosts: readonly string[], opts: { bookmarkIntervalMs?: number; frontDoorIp?: string; tokenIssuer?: TokenIssuerConfig } = {}): Promise<E2e> {
  const nowMs = Date.now();
  const ca = createCa(nowMs);
  const serving = createServingCert(ca, defaultServingSans([...hosts], opts.frontDoorIp ? { frontDoorIp: opts.frontDoorIp } : {}), nowMs);
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const tokens: StaticTokenEntry[] = [
    { token: adminToken, username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] },
    { token: nobodyToken, username: 'nobody', groups: [] },
  ];
  const authenticator = new Authenticator({ staticTokens: tokens });
  const cores: ApiServerCore[] = [];
  const servers: ApiHttpsServer[] = [];
  for (const host of hosts) {
    const core = new ApiServerCore({ kv, clock, authenticator, serverAddress: `${host}:6443`, ...(opts.bookmarkIntervalMs ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
      ...(opts.tokenIssuer ? { tokenIssuer: opts.tokenIssuer } : {}) });
    await core.start();
    cores.push(core);
    servers.push(await ApiHttpsServer.listen({ transport: core, certPem: serving.certPem, keyPem: serving.keyPem, host, port: 0 }));
  }
  const dir = await mkdtemp(join(tmpdir(), 'pk-apiserver-'));
  const kubeconfigFor = async (url: string, token: string, name: string): Promise<string> => {
    const path = join(dir, `${name}.kubeconfig`);
    await writeKubeconfig(path, { server: url, caCertPem: ca.certPem, token });
    return path;
  };
  const kubeconfig = await kubeconfigFor(servers[0]!.url, adminToken, 'admin');
  const cacheDir = join(dir, 'cache');
  const kubectl: E2e['kubectl'] = (args, o = {}) => new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', o.kubeconfig ?? kubeconfig, '--cache-dir', cacheDir, ...args],
      { timeout: o.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
  return {
    kv, clock, cores, servers, caPem: ca.certPem, dir, kubeconfig, kubeconfigFor, kubectl,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
      for (const c of cores) c.stop();
      kv.close();
      clock.clearAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
