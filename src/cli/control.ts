/**
 * The control socket of a running `pocketkube up`: a Unix socket in its data directory
 * (`<dataDir>/control.sock`) through which other commands of the same user ask what only the
 * cluster's own process can answer (a scheduler's explanation lives in its actor, not in the API).
 * One JSON request per connection, one JSON answer; the socket file is mode 0600.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import type { Cluster } from '../cluster/index.js';
import type { SchedulerExplain } from '../scheduler/messages.js';

const controlSocketName = 'control.sock';
/** A request larger than this is refused (a control request is a pod name). */
const maxRequestBytes = 4096;
const askTimeoutMs = 5_000;

type ControlRequest = { readonly explainPod: string };
type ControlAnswer = { readonly ok: true; readonly explain: SchedulerExplain & { readonly scheduler?: string } } | { readonly ok: false; readonly error: string };

export async function serveControl(cluster: Cluster): Promise<{ readonly path: string; close(): Promise<void> }> {
  const path = join(cluster.dataDir, controlSocketName);
  // The data directory's lock is ours, so a socket file left here is a dead cluster's.
  rmSync(path, { force: true });
  const server: Server = createServer((socket) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length > maxRequestBytes) socket.end(JSON.stringify({ ok: false, error: 'request too large' } satisfies ControlAnswer));
      if (!received.includes('\n')) return;
      void answer(cluster, received.slice(0, received.indexOf('\n'))).then((a) => socket.end(`${JSON.stringify(a)}\n`));
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((done, fail) => { server.once('error', fail); server.listen(path, () => done()); });
  chmodSync(path, 0o600);
  return { path, close: () => new Promise<void>((done) => server.close(() => { rmSync(path, { force: true }); done(); })) };
}

async function answer(cluster: Cluster, line: string): Promise<ControlAnswer> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: 'the request is not JSON' };
  }
  const pod = (request as Partial<ControlRequest> | null)?.explainPod;
  if (typeof pod !== 'string' || !/^[^/]+\/[^/]+$/.test(pod)) return { ok: false, error: 'expected {"explainPod": "namespace/name"}' };
  return { ok: true, explain: await cluster.explainPod(pod) };
}

/**
 * Where the control socket of the cluster is: `--data-dir`, else the directory of $KUBECONFIG
 * (what `pocketkube up` prints is `<dataDir>/kubeconfig`). Throws a message naming the fix.
 */
export function findControlSocket(dataDir: string | undefined, kubeconfig = process.env['KUBECONFIG']): string {
  const candidates = dataDir !== undefined ? [join(dataDir, controlSocketName)] : kubeconfig !== undefined && kubeconfig !== '' ? [join(dirname(kubeconfig), controlSocketName)] : [];
  const found = candidates.find((p) => existsSync(p));
  if (found !== undefined) return found;
  const where = candidates[0] === undefined ? 'no --data-dir given and KUBECONFIG is not set' : `${candidates[0]} does not exist`;
  throw new Error(`no running "pocketkube up" found (${where}). Start one with "pocketkube up", then pass its --data-dir or export the KUBECONFIG it prints.`);
}

export function askControl(path: string, request: ControlRequest): Promise<ControlAnswer> {
  return new Promise((done, fail) => {
    const socket = createConnection(path);
    let received = '';
    socket.setEncoding('utf8');
    socket.setTimeout(askTimeoutMs, () => socket.destroy(new Error(`no answer from ${path} within ${askTimeoutMs} ms`)));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.on('end', () => {
      try {
        done(JSON.parse(received) as ControlAnswer);
      } catch {
        fail(new Error(`a malformed answer from ${path}`));
      }
    });
    socket.on('error', (error) => fail(new Error(`cannot reach the cluster at ${path}: ${error.message} (is "pocketkube up" still running?)`)));
  });
}
