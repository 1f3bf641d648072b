/**
 * The launcher of `process`-handler containers (src/cri/host-process.ts): spawns the container's
 * command on the host with its environment, in `<processesDir>/<pod uid>/<container>` (volumes
 * linked there by their container paths), output to the container's log, SIGTERM on stop and
 * SIGKILL when the grace period ends. No shell: argv is executed as given.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import type { HostProcessLauncher, HostProcessSpec } from '../../src/cri/host-process.js';

/** The exit code of a process killed by `signal`, as a shell reports it. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 9);
}

async function linkMounts(cwd: string, spec: HostProcessSpec): Promise<void> {
  for (const mount of spec.mounts) {
    const relative = normalize(mount.containerPath).replace(/^\/+/, '');
    if (relative === '' || relative.startsWith('..')) continue;
    const link = join(cwd, relative);
    await mkdir(dirname(link), { recursive: true });
    await rm(link, { force: true, recursive: false }).catch(() => undefined);
    await symlink(mount.hostPath, link);
  }
}

export function hostProcessLauncher(processesDir: string): HostProcessLauncher {
  return {
    async run(spec) {
      const cwd = join(processesDir, spec.podUid, spec.containerName);
      await mkdir(cwd, { recursive: true });
      await linkMounts(cwd, spec);
      const [command, ...args] = spec.argv;
      return new Promise<number>((resolve) => {
        const child = spawn(command!, args, { cwd, env: { ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.setEncoding('utf8').on('data', (text: string) => spec.stdout(text));
        child.stderr.setEncoding('utf8').on('data', (text: string) => spec.stderr(text));
        const terminate = (): void => { child.kill('SIGTERM'); };
        const kill = (): void => { child.kill('SIGKILL'); };
        spec.terminate.addEventListener('abort', terminate, { once: true });
        spec.kill.addEventListener('abort', kill, { once: true });
        // Stopped while its directory was being made: the signals fired before anyone listened.
        if (spec.kill.aborted) kill();
        else if (spec.terminate.aborted) terminate();
        child.once('error', (error) => {
          spec.stderr(`${command!}: ${error.message}\n`);
          resolve(127);
        });
        child.once('close', (code, signal) => {
          spec.terminate.removeEventListener('abort', terminate);
          spec.kill.removeEventListener('abort', kill);
          resolve(code ?? (signal === null ? 1 : signalExitCode(signal)));
        });
      });
    },
  };
}
