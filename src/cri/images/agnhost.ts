/**
 * `registry.k8s.io/e2e-test-images/agnhost`, the subcommands Kubernetes' own e2e tests use
 * (test/images/agnhost): serve-hostname, netexec, pause and liveness. Flags as upstream's
 * (`--port=9376` or `--port 9376`).
 */
import type http from 'node:http';
import { sleep } from '../../primitives/clock.js';
import type { ContainerProcess, Image, UdpEndpoint } from '../image.js';
import { httpGet, resolveHost } from './http-client.js';
import { sendText, serveHttp, untilStopped } from './http-server.js';
import { runShellProcess, Shell } from './shell.js';

/** Bounds on /dial (upstream caps nothing; a bound keeps one request from tying a pod up). */
const dialTriesMax = 100;
const dialTimeoutMs = 5_000;
const shellOutputBytesMax = 1024 * 1024;
/** liveness: healthy this long after start, then 500 (upstream's 10 s). */
export const livenessHealthyMs = 10_000;

function flags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const match = /^--?([A-Za-z0-9-]+)(?:=(.*))?$/.exec(args[i]!);
    if (match === null) continue;
    if (match[2] !== undefined) out.set(match[1]!, match[2]);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) out.set(match[1]!, args[++i]!);
    else out.set(match[1]!, 'true');
  }
  return out;
}

function portFlag(values: Map<string, string>, name: string, fallback: number): number {
  const raw = values.get(name);
  const port = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`invalid --${name} ${JSON.stringify(raw)}`);
  return port;
}

function json(response: http.ServerResponse, status: number, value: unknown): void {
  sendText(response, status, JSON.stringify(value), 'application/json');
}

async function serveHostname(process: ContainerProcess, args: readonly string[]): Promise<number> {
  const values = flags(args);
  const port = portFlag(values, 'port', 9376);
  process.stdout(`Serving on port ${port}.\n`);
  await serveHttp(process, port, (_request, response) => sendText(response, 200, process.hostname));
  return 0;
}

async function udpDial(process: ContainerProcess, ip: string, port: number, request: string): Promise<string> {
  const socket = await process.net.udp(0);
  try {
    const reply = new Promise<string>((resolve) => socket.onMessage((data) => resolve(Buffer.from(data).toString('utf8'))));
    socket.send(Buffer.from(request, 'utf8'), ip, port);
    const timeout = new AbortController();
    const result = await Promise.race([reply, sleep(process.clock, dialTimeoutMs, timeout.signal).then(() => undefined)]);
    timeout.abort();
    if (result === undefined) throw new Error(`reading from udp connection failed. err:'read udp ${ip}:${port}: i/o timeout'`);
    return result;
  } finally {
    await socket.close();
  }
}

async function dialOnce(process: ContainerProcess, protocol: string, host: string, port: number, request: string): Promise<string> {
  if (protocol === 'udp') {
    const ip = await resolveHost(process, host);
    if (ip === undefined) throw new Error(`lookup ${host}: no such host`);
    return udpDial(process, ip, port, request);
  }
  const path = request.startsWith('/') ? request : `/${request}`;
  const result = await httpGet(process, `http://${host}:${port}${path}`, { timeoutMs: dialTimeoutMs, bodyBytesMax: shellOutputBytesMax });
  if (!result.ok) throw new Error(result.message);
  if (result.status !== 200) throw new Error(`received non-200 status ${result.status}: ${result.body}`);
  return result.body;
}

async function dial(process: ContainerProcess, query: URLSearchParams, response: http.ServerResponse): Promise<void> {
  const host = query.get('host') ?? '';
  const port = Number(query.get('port'));
  const request = query.get('request') ?? '';
  const protocol = query.get('protocol') ?? 'http';
  const tries = Math.min(dialTriesMax, Math.max(1, Number(query.get('tries') ?? '1') || 1));
  if (host === '' || !Number.isInteger(port) || port <= 0 || (protocol !== 'http' && protocol !== 'udp')) {
    sendText(response, 400, 'dial needs host, port, request and protocol=http|udp');
    return;
  }
  const responses: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < tries; i++) {
    try { responses.push(await dialOnce(process, protocol, host, port, request)); } catch (error) { errors.push(error instanceof Error ? error.message : String(error)); }
  }
  json(response, 200, { responses, errors });
}

async function shellEndpoint(process: ContainerProcess, query: URLSearchParams, response: http.ServerResponse): Promise<void> {
  let output = '';
  const io = { stdin: () => Promise.resolve(''), stdout: (text: string) => { if (output.length < shellOutputBytesMax) output += text; }, stderr: (text: string) => { if (output.length < shellOutputBytesMax) output += text; } };
  const code = await new Shell(process, ['sh']).runScript(query.get('cmd') ?? '', io);
  json(response, 200, code === 0 ? { output } : { output, error: `exit status ${code}` });
}

function netexecHandler(process: ContainerProcess, exit: (code: number) => void) {
  return async (request: http.IncomingMessage, response: http.ServerResponse, remote: { host: string; port: number }): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/': sendText(response, 200, `NOW: ${new Date(process.clock.wallNow()).toISOString()}`); return;
      case '/hostname': sendText(response, 200, process.hostname); return;
      case '/healthz': sendText(response, 200, 'ok'); return;
      case '/clientip': sendText(response, 200, `${remote.host}:${remote.port}`); return;
      case '/echo': sendText(response, 200, url.searchParams.get('msg') ?? ''); return;
      case '/exit': {
        const code = Number(url.searchParams.get('code') ?? '0');
        sendText(response, 200, '');
        exit(Number.isInteger(code) ? code : 1);
        return;
      }
      case '/dial': await dial(process, url.searchParams, response); return;
      case '/shell': await shellEndpoint(process, url.searchParams, response); return;
      default: sendText(response, 404, `404 page not found\n`);
    }
  };
}

function udpEcho(process: ContainerProcess, socket: UdpEndpoint): void {
  socket.onMessage((data, from) => {
    const text = Buffer.from(data).toString('utf8').trim();
    const [command, ...rest] = text.split(' ');
    const reply = command === 'hostname' ? process.hostname : command === 'echo' ? rest.join(' ') : command === 'clientip' ? `${from.host}:${from.port}` : `unknown command ${command}`;
    socket.send(Buffer.from(reply, 'utf8'), from.host, from.port);
  });
}

async function netexec(process: ContainerProcess, args: readonly string[]): Promise<number> {
  const values = flags(args);
  const httpPort = portFlag(values, 'http-port', 8080);
  const udpPort = portFlag(values, 'udp-port', 8081);
  const stop = new AbortController();
  let exitCode = 0;
  const onStop = (): void => stop.abort();
  process.signal.addEventListener('abort', onStop, { once: true });
  const udp = udpPort === 0 || values.get('udp-port') === '-1' ? undefined : await process.net.udp(udpPort);
  if (udp !== undefined) udpEcho(process, udp);
  process.stdout(`Started HTTP server on port ${httpPort}\n`);
  if (udp !== undefined) process.stdout(`Started UDP server on port ${udpPort}\n`);
  const exit = (code: number): void => { exitCode = code; stop.abort(); };
  await serveHttp({ ...process, signal: stop.signal }, httpPort, netexecHandler(process, exit));
  await udp?.close();
  return exitCode;
}

async function liveness(process: ContainerProcess): Promise<number> {
  const startedMs = process.clock.now();
  await serveHttp(process, 8080, (request, response) => {
    const elapsedMs = process.clock.now() - startedMs;
    if (new URL(request.url ?? '/', 'http://x').pathname !== '/healthz') { sendText(response, 404, '404 page not found\n'); return; }
    if (elapsedMs > livenessHealthyMs) sendText(response, 500, `error: ${(elapsedMs / 1000).toFixed(3)}s`);
    else sendText(response, 200, 'ok');
  });
  return 0;
}

async function agnhost(process: ContainerProcess): Promise<number> {
  const argv = process.argv[0]?.endsWith('agnhost') === true ? process.argv.slice(1) : process.argv;
  const [subcommand, ...args] = argv;
  switch (subcommand) {
    case 'serve-hostname': return serveHostname(process, args);
    case 'netexec': return netexec(process, args);
    case 'pause': await untilStopped(process.signal); return 0;
    case 'liveness': return liveness(process);
    case undefined:
      process.stderr('agnhost: a subcommand is required (serve-hostname, netexec, pause, liveness)\n');
      return 1;
    default:
      // Not an agnhost subcommand: the image's shell runs it (agnhost's image has one).
      if (argv === process.argv) return runShellProcess(process);
      process.stderr(`Error: unknown command "${subcommand}" for "agnhost" (pocketkube's agnhost has serve-hostname, netexec, pause, liveness)\n`);
      return 1;
  }
}

export const agnhostImage: Image = {
  repository: 'registry.k8s.io/e2e-test-images/agnhost',
  entrypoint: ['/agnhost'],
  cmd: ['pause'],
  run: agnhost,
  exec: runShellProcess,
};
