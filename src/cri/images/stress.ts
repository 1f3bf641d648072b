/**
 * `polinux/stress` (and its pocketkube alias): `stress --cpu N --vm N --vm-bytes SIZE --timeout S`.
 * CPU is reported, not burned (N workers report N × 1000 millicores), so `kubectl top` and the
 * HPA see real figures without heating a shared machine. Memory is really held: one Buffer of
 * the requested size up to `heldBytesMax`; the usage reported is the requested size.
 */
import { sleep } from '../../primitives/clock.js';
import type { ContainerProcess, Image } from '../image.js';
import { parseSleepMs, runShellProcess } from './shell.js';

/** Bound on what one container really allocates. */
const heldBytesMax = 256 * 1024 * 1024;

function parseBytes(text: string): number | undefined {
  const match = /^(\d+)([bBkKmMgG]?)$/.exec(text);
  if (match === null) return undefined;
  const scale = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  return Number(match[1]) * scale;
}

interface StressPlan {
  readonly cpuWorkers: number;
  readonly vmWorkers: number;
  readonly vmBytes: number;
  readonly timeoutMs: number;
}

function parsePlan(args: readonly string[]): StressPlan | string {
  let cpuWorkers = 0;
  let vmWorkers = 0;
  let vmBytes = 256 * 1024 * 1024;
  let timeoutMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    switch (flag) {
      case '--cpu': case '-c': cpuWorkers = Number(value); i++; break;
      case '--vm': case '-m': vmWorkers = Number(value); i++; break;
      case '--vm-bytes': { const bytes = value === undefined ? undefined : parseBytes(value); if (bytes === undefined) return `invalid --vm-bytes ${value}`; vmBytes = bytes; i++; break; }
      case '--timeout': case '-t': { const ms = value === undefined ? undefined : parseSleepMs(value); if (ms === undefined) return `invalid --timeout ${value}`; timeoutMs = ms; i++; break; }
      case '--vm-hang': case '--io': case '-i': case '--hdd': i++; break;
      case '--verbose': case '-v': case '--vm-keep': break;
      default: return `unrecognized option ${flag}`;
    }
  }
  if (!Number.isInteger(cpuWorkers) || cpuWorkers < 0 || !Number.isInteger(vmWorkers) || vmWorkers < 0) return 'worker counts must be whole numbers';
  return { cpuWorkers, vmWorkers, vmBytes, timeoutMs };
}

async function stress(process: ContainerProcess): Promise<number> {
  const [command, ...args] = process.argv;
  if (command?.split('/').pop() !== 'stress') return runShellProcess(process);
  const plan = parsePlan(args);
  if (typeof plan === 'string') { process.stderr(`stress: FAIL: ${plan}\n`); return 1; }
  const requestedBytes = plan.vmWorkers * plan.vmBytes;
  process.stdout(`stress: info: dispatching hogs: ${plan.cpuWorkers} cpu, 0 io, ${plan.vmWorkers} vm, 0 hdd\n`);
  process.usage.setCpuMillicores(plan.cpuWorkers * 1000 + (plan.vmWorkers > 0 ? plan.vmWorkers * 1000 : 0));
  // Filled, not just reserved: the pages are really touched, as stress's vm workers do.
  const held: Buffer | undefined = requestedBytes > 0 ? Buffer.alloc(Math.min(requestedBytes, heldBytesMax), 1) : undefined;
  if (held !== undefined) process.stdout(`stress: info: holding ${held.length} bytes (${requestedBytes} requested)\n`);
  process.usage.setMemoryBytes(requestedBytes);
  await sleep(process.clock, plan.timeoutMs === Number.POSITIVE_INFINITY ? 2 ** 31 - 1 : plan.timeoutMs, process.signal);
  while (plan.timeoutMs === Number.POSITIVE_INFINITY && !process.signal.aborted) await sleep(process.clock, 2 ** 31 - 1, process.signal);
  process.usage.setCpuMillicores(0);
  process.usage.setMemoryBytes(0);
  // Read after the wait: a variable an async function no longer uses could be collected early.
  const releasedBytes = held?.length ?? 0;
  if (process.signal.aborted) return 143;
  process.stdout(`stress: info: successful run completed (released ${releasedBytes} bytes)\n`);
  return 0;
}

export const stressImage: Image = {
  repository: 'polinux/stress',
  entrypoint: [],
  cmd: ['stress', '--cpu', '1'],
  run: stress,
  exec: runShellProcess,
};

export const pocketkubeStressImage: Image = { ...stressImage, repository: 'pocketkube/stress' };
