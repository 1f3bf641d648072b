/**
 * Throughput of the bare core (no disk, no codec): 3 members in one thread, the shell loop of the
 * Ready contract, proposals of `payloadBytes` in batches. Run:
 *   node --import ./tools/ts-node-register.mjs test/raft/bench-core.ts [entries] [batch]
 */
import { SeededPrng } from '../../src/primitives/prng.js';
import type { RaftMessage } from '../../src/raft/messages.js';
import { RaftNode } from '../../src/raft/node.js';

const total = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 100);
const payloadBytes = 256;
const ids = ['n1', 'n2', 'n3'];
const nodes = new Map(ids.map((id) => [id, RaftNode.restore({ id, peers: ids, prng: new SeededPrng(ids.indexOf(id) + 1), config: { electionTicks: 10, heartbeatTicks: 1 } })]));
let queue: RaftMessage[] = [];
const applied = new Map(ids.map((id) => [id, 0]));

function pump(): void {
  for (const [id, n] of nodes) {
    while (n.hasReady()) {
      const rd = n.ready();
      for (const m of rd.messages) queue.push(m);
      applied.set(id, applied.get(id)! + rd.committedEntries.length);
      n.advance(rd);
    }
  }
  const q = queue;
  queue = [];
  for (const m of q) nodes.get(m.to)!.step(m);
}

nodes.get('n1')!.campaign();
for (let i = 0; i < 20; i++) pump();
const lead = nodes.get('n1')!;
if (lead.role !== 'leader') throw new Error('no leader');
const payload = new Uint8Array(payloadBytes);
const start = performance.now();
let proposed = 0;
while (proposed < total) {
  for (let i = 0; i < batch && proposed < total; i++, proposed++) lead.propose(payload);
  pump();
  pump();
}
const target = lead.lastIndex;
for (let i = 0; i < 100 && ids.some((id) => nodes.get(id)!.appliedIndex < target); i++) pump();
const ms = performance.now() - start;
console.log(`${total} entries x ${payloadBytes} B, batch ${batch}: ${ms.toFixed(0)} ms, ${(total / ms * 1000).toFixed(0)} entries/s committed+applied on 3 members`);
