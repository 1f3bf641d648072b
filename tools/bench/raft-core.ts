/**
 * `npm run bench -- raft-core [--entries N] [--batch N] [--quick]`: throughput of the bare Raft core
 * (no disk, no codec): 3 members in one thread driven by the shell loop of the Ready contract,
 * proposals of 256 bytes in batches. It bounds what the etcd member can reach above it.
 */
import { SeededPrng } from '../../src/primitives/prng.js';
import type { RaftMessage } from '../../src/raft/messages.js';
import { RaftNode } from '../../src/raft/node.js';
import { printResult, round } from './stats.js';

const PAYLOAD_BYTES = 256;
const DEFAULT_ENTRIES = 200_000;
const QUICK_ENTRIES = 5_000;
const DEFAULT_BATCH = 100;
const MAX_ENTRIES = 10_000_000;
const IDS = ['n1', 'n2', 'n3'];

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_ENTRIES) throw new Error(`${name} takes a whole number from 1 to ${MAX_ENTRIES}`);
  return value;
}

export async function run(args: string[]): Promise<void> {
  const total = option(args, '--entries', args.includes('--quick') ? QUICK_ENTRIES : DEFAULT_ENTRIES);
  const batch = option(args, '--batch', DEFAULT_BATCH);
  const nodes = new Map(IDS.map((id, i) => [id, RaftNode.restore({ id, peers: IDS, prng: new SeededPrng(i + 1), config: { electionTicks: 10, heartbeatTicks: 1 } })]));
  let queue: RaftMessage[] = [];

  // One round of the shell loop for every member: take Ready, "send" its messages, advance.
  const pump = (): void => {
    for (const node of nodes.values()) {
      while (node.hasReady()) {
        const ready = node.ready();
        for (const message of ready.messages) queue.push(message);
        node.advance(ready);
      }
    }
    const delivering = queue;
    queue = [];
    for (const message of delivering) nodes.get(message.to)!.step(message);
  };

  nodes.get('n1')!.campaign();
  for (let i = 0; i < 20; i++) pump();
  const leader = nodes.get('n1')!;
  if (leader.role !== 'leader') throw new Error('raft-core: n1 did not become leader');
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const started = performance.now();
  for (let proposed = 0; proposed < total; ) {
    for (let i = 0; i < batch && proposed < total; i++, proposed++) leader.propose(payload);
    pump();
    pump();
  }
  const target = leader.lastIndex;
  for (let i = 0; i < 100 && [...nodes.values()].some((node) => node.appliedIndex < target); i++) pump();
  const lagging = [...nodes.values()].filter((node) => node.appliedIndex < target).map((node) => node.id);
  if (lagging.length > 0) throw new Error(`raft-core: ${lagging.join(', ')} did not apply up to ${target}`);
  const ms = performance.now() - started;
  const perSecond = (total / ms) * 1000;
  console.log(`${total} entries x ${PAYLOAD_BYTES} B, batch ${batch}: ${ms.toFixed(0)} ms, ${Math.round(perSecond).toLocaleString('en-US')} entries/s committed and applied on 3 members`);
  printResult('raft-core', { entries: total, batch, ms: round(ms), entries_per_s: round(perSecond) });
}
