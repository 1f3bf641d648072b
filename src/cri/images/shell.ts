/**
 * The images' small shell and its commands (busybox's applets in spirit): `sh -c` scripts as
 * ./shell-parse.ts reads them, and sleep, echo, printf, cat, env, ls, wget, nslookup, true,
 * false, hostname, exit, export, cd, pwd, test/[, grep, head, touch, mkdir, date, kill -0.
 * Everything goes through the ContainerProcess (files, network, clock), never the host.
 */
import { sleep } from '../../primitives/clock.js';
import type { ContainerProcess, StdinReader } from '../image.js';
import { normalizePath } from '../files.js';
import { parseShell, ShellSyntaxError, type AndOr, type Command, type Pipeline, type Sequence, type Word } from './shell-parse.js';
import { httpGet } from './http-client.js';

/** Bound on text a pipe or `$(...)` buffers. */
const pipeBytesMax = 4 * 1024 * 1024;
/** Loop iterations between yields to the clock, so a busy `while true` cannot starve the thread. */
const loopYieldEvery = 100;
/** `sh -c` nesting bound (`sh -c "sh -c ..."`). */
const shellDepthMax = 16;

export interface Io {
  /** The whole of stdin, read to its end (bounded); asked for only by commands that read it. */
  readonly stdin: () => Promise<string>;
  /** The next line of a live stdin (an interactive `sh`); only the top-level command gets it. */
  readonly nextLine?: () => Promise<string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

const noInput = (): Promise<string> => Promise.resolve('');

/** A live stdin (ContainerProcess.stdin), read whole or line by line, bounded like a pipe. */
class StdinBuffer {
  private buffered = '';
  private ended = false;
  private whole: Promise<string> | undefined;

  constructor(private readonly reader: StdinReader) {}

  all(): Promise<string> {
    this.whole ??= (async () => {
      while (!this.ended && this.buffered.length < pipeBytesMax) await this.more();
      const text = this.buffered;
      this.buffered = '';
      return text;
    })();
    return this.whole;
  }

  async line(): Promise<string | undefined> {
    for (;;) {
      const at = this.buffered.indexOf('\n');
      if (at >= 0) {
        const line = this.buffered.slice(0, at);
        this.buffered = this.buffered.slice(at + 1);
        return line;
      }
      if (this.ended) {
        if (this.buffered === '') return undefined;
        const rest = this.buffered;
        this.buffered = '';
        return rest;
      }
      await this.more();
    }
  }

  private async more(): Promise<void> {
    const chunk = await this.reader.read();
    if (chunk === undefined) this.ended = true;
    else this.buffered += chunk;
  }
}

class ExitSignal extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Exit code of a process ended by SIGTERM (128 + 15). */
const terminatedExitCode = 143;

type Applet = (shell: Shell, args: readonly string[], io: Io) => Promise<number>;

function collector(): { io: (stdin: () => Promise<string>, stderr: (text: string) => void) => Io; text: () => string } {
  let out = '';
  return {
    io: (stdin, stderr) => ({ stdin, stdout: (text) => { if (out.length < pipeBytesMax) out += text; }, stderr }),
    text: () => out,
  };
}

export class Shell {
  readonly vars: Map<string, string>;
  readonly exported = new Set<string>();
  cwd: string;
  status = 0;
  private iterations = 0;

  constructor(readonly process: ContainerProcess, private readonly positional: readonly string[], private readonly depth = 0) {
    this.vars = new Map(Object.entries(process.env));
    for (const name of this.vars.keys()) this.exported.add(name);
    this.cwd = process.workingDir;
  }

  path(path: string): string {
    return normalizePath(path, this.cwd);
  }

  env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of this.exported) { const value = this.vars.get(name); if (value !== undefined) env[name] = value; }
    return env;
  }

  async runScript(script: string, io: Io): Promise<number> {
    if (this.depth >= shellDepthMax) { io.stderr(`sh: nesting deeper than ${shellDepthMax}\n`); return 2; }
    let parsed: Sequence;
    try {
      parsed = parseShell(script);
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error;
      io.stderr(`sh: ${error.message}\n`);
      return 2;
    }
    try {
      return await this.sequence(parsed, io);
    } catch (error) {
      if (error instanceof ExitSignal) return error.code;
      throw error;
    }
  }

  /** One line of an interactive shell: its status is kept; `exit N` answers N (undefined: go on). */
  async runLine(line: string, io: Io): Promise<number | undefined> {
    let parsed: Sequence;
    try {
      parsed = parseShell(line);
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error;
      io.stderr(`sh: ${error.message}\n`);
      this.status = 2;
      return undefined;
    }
    try {
      this.status = await this.sequence(parsed, io);
      return undefined;
    } catch (error) {
      if (error instanceof ExitSignal) return error.code;
      throw error;
    }
  }

  subshell(positional: readonly string[]): Shell {
    const child = new Shell({ ...this.process, env: this.env(), workingDir: this.cwd }, positional, this.depth + 1);
    return child;
  }

  private async sequence(sequence: Sequence, io: Io): Promise<number> {
    for (const item of sequence) this.status = await this.andOr(item, io);
    return this.status;
  }

  private async andOr(item: AndOr, io: Io): Promise<number> {
    let status = await this.pipeline(item.first, io);
    for (const { op, pipeline } of item.rest) {
      // `$?` on the right of `&&`/`||` is the left side's status.
      this.status = status;
      if ((op === '&&') === (status === 0)) status = await this.pipeline(pipeline, io);
    }
    return status;
  }

  private async pipeline(pipeline: Pipeline, io: Io): Promise<number> {
    if (pipeline.length === 1) return this.command(pipeline[0]!, io);
    let stdin = io.stdin;
    for (let i = 0; i < pipeline.length - 1; i++) {
      const out = collector();
      await this.command(pipeline[i]!, out.io(stdin, io.stderr));
      const text = out.text();
      stdin = () => Promise.resolve(text);
    }
    // A piped command reads the pipe, never the live terminal.
    return this.command(pipeline[pipeline.length - 1]!, { stdin, stdout: io.stdout, stderr: io.stderr });
  }

  private checkSignal(): void {
    if (this.process.signal.aborted) throw new ExitSignal(terminatedExitCode);
  }

  private async command(command: Command, io: Io): Promise<number> {
    this.checkSignal();
    switch (command.kind) {
      case 'simple':
        return this.simple(command, io);
      case 'loop':
        return this.loop(command, io);
      case 'if': {
        for (const branch of command.branches) if (await this.sequence(branch.condition, io) === 0) return this.sequence(branch.body, io);
        return command.otherwise === undefined ? 0 : this.sequence(command.otherwise, io);
      }
      case 'for': {
        let status = 0;
        const items: string[] = [];
        for (const word of command.items) items.push(...await this.expand(word, io));
        for (const item of items) { this.vars.set(command.name, item); status = await this.sequence(command.body, io); }
        return status;
      }
      default: {
        const never: never = command;
        throw new Error(`sh: unknown command ${JSON.stringify(never)}`);
      }
    }
  }

  private async loop(command: Extract<Command, { kind: 'loop' }>, io: Io): Promise<number> {
    let status = 0;
    for (;;) {
      this.checkSignal();
      if (++this.iterations % loopYieldEvery === 0) await sleep(this.process.clock, 0, this.process.signal);
      const condition = await this.sequence(command.condition, io);
      if ((condition === 0) === command.until) return status;
      status = await this.sequence(command.body, io);
    }
  }

  private async simple(command: Extract<Command, { kind: 'simple' }>, io: Io): Promise<number> {
    const argv: string[] = [];
    for (const word of command.words) argv.push(...await this.expand(word, io));
    const values: [string, string][] = [];
    for (const { name, value } of command.assigns) values.push([name, (await this.expand(value, io, false)).join('')]);
    if (argv.length === 0) {
      for (const [name, value] of values) this.vars.set(name, value);
      return 0;
    }
    const redirected = await this.redirect(command, io);
    if (typeof redirected === 'number') return redirected;
    const shell = values.length === 0 ? this : this.withEnv(values);
    try {
      return await runApplet(shell, argv, redirected.io);
    } finally {
      await redirected.finish();
    }
  }

  /** `VAR=x cmd`: cmd sees VAR exported; the shell keeps its own value. */
  private withEnv(values: readonly [string, string][]): Shell {
    const child = new Shell({ ...this.process, env: { ...this.env(), ...Object.fromEntries(values) }, workingDir: this.cwd }, this.positional, this.depth);
    return child;
  }

  private async redirect(command: Extract<Command, { kind: 'simple' }>, io: Io): Promise<{ io: Io; finish: () => Promise<void> } | number> {
    const files: { path: string; append: boolean; text: string }[] = [];
    const sinks: Record<1 | 2, (text: string) => void> = { 1: io.stdout, 2: io.stderr };
    for (const r of command.redirects) {
      if (r.toFd !== undefined) { sinks[r.fd] = sinks[r.toFd]; continue; }
      const target = (await this.expand(r.target!, io, false)).join('');
      if (target === '/dev/null') { sinks[r.fd] = () => undefined; continue; }
      const file = { path: this.path(target), append: r.append, text: '' };
      files.push(file);
      sinks[r.fd] = (text) => { if (file.text.length < pipeBytesMax) file.text += text; };
    }
    const finish = async (): Promise<void> => {
      for (const file of files) {
        const before = file.append ? Buffer.from(await this.process.files.readFile(file.path) ?? new Uint8Array()).toString('utf8') : '';
        try {
          await this.process.files.writeFile(file.path, Buffer.from(before + file.text, 'utf8'));
        } catch (error) {
          io.stderr(`sh: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    };
    return { io: { ...io, stdout: (text) => sinks[1](text), stderr: (text) => sinks[2](text) }, finish };
  }

  private variable(name: string): string {
    switch (name) {
      case '?': return String(this.status);
      case '$': return '1';
      case '#': return String(Math.max(0, this.positional.length - 1));
      case '@': return this.positional.slice(1).join(' ');
      default:
        if (/^\d$/.test(name)) return this.positional[Number(name)] ?? '';
        return this.vars.get(name) ?? '';
    }
  }

  /** A word's fields after variable and command substitution and (unquoted) field splitting. */
  async expand(word: Word, io: Io, split = true): Promise<string[]> {
    const fields: string[] = [];
    let current = '';
    let hasField = false;
    for (const segment of word.segments) {
      const value = segment.kind === 'text' ? segment.text : segment.kind === 'var' ? this.variable(segment.name) : await this.substitute(segment.script, io);
      if (segment.kind === 'text' || segment.quoted || !split) { current += value; hasField ||= segment.quoted || value !== ''; continue; }
      const pieces = value.split(/[ \t\n]+/);
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0 && (hasField || current !== '')) { fields.push(current); current = ''; hasField = false; }
        current += pieces[i]!;
        if (pieces[i] !== '') hasField = true;
      }
    }
    if (hasField || current !== '') fields.push(current);
    return fields;
  }

  private async substitute(script: string, io: Io): Promise<string> {
    const out = collector();
    this.status = await this.subshell(this.positional).runScript(script, out.io(noInput, io.stderr));
    return out.text().replace(/\n+$/, '');
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readText(shell: Shell, path: string): Promise<string | undefined> {
  const data = await shell.process.files.readFile(shell.path(path));
  return data === undefined ? undefined : Buffer.from(data).toString('utf8');
}

/** `sleep 1`, `sleep 0.5`, `sleep 2m`, `sleep infinity`: milliseconds, or undefined when bad. */
export function parseSleepMs(text: string): number | undefined {
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text);
  if (match === null) return undefined;
  const unitMs = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unitMs;
}

/** A long sleep waits in steps (a timer cannot hold more than 2^31 ms). */
const sleepStepMsMax = 2 ** 31 - 1;

const sleepApplet: Applet = async (shell, args, io) => {
  if (args.length === 0) { io.stderr('sleep: missing operand\n'); return 1; }
  let totalMs = 0;
  for (const arg of args) {
    const ms = parseSleepMs(arg);
    if (ms === undefined) { io.stderr(`sleep: invalid number '${arg}'\n`); return 1; }
    totalMs += ms;
  }
  const signal = shell.process.signal;
  while (totalMs > 0 && !signal.aborted) {
    const stepMs = Math.min(totalMs, sleepStepMsMax);
    await sleep(shell.process.clock, stepMs, signal);
    totalMs -= stepMs;
  }
  return signal.aborted ? terminatedExitCode : 0;
};

function unescapeEcho(text: string): string {
  return text.replace(/\\([ntr\\0])/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', 0: '\0' })[c] ?? c);
}

const echoApplet: Applet = async (_shell, args, io) => {
  let newline = true;
  let escapes = false;
  let i = 0;
  for (; i < args.length && /^-[neE]+$/.test(args[i]!); i++) {
    if (args[i]!.includes('n')) newline = false;
    if (args[i]!.includes('e')) escapes = true;
  }
  const text = args.slice(i).join(' ');
  io.stdout((escapes ? unescapeEcho(text) : text) + (newline ? '\n' : ''));
  return 0;
};

const printfApplet: Applet = async (_shell, args, io) => {
  const [format, ...rest] = args;
  if (format === undefined) { io.stderr('printf: usage: printf FORMAT [ARGUMENT]...\n'); return 1; }
  let k = 0;
  // One pass over the format, as scripts use it; the format is not reused for extra arguments.
  const text = unescapeEcho(format).replace(/%([sd%])/g, (_m, c: string) => (c === '%' ? '%' : c === 'd' ? String(Number.parseInt(rest[k++] ?? '0', 10) || 0) : rest[k++] ?? ''));
  io.stdout(text);
  return 0;
};

const catApplet: Applet = async (shell, args, io) => {
  if (args.length === 0 || (args.length === 1 && args[0] === '-')) { io.stdout(await io.stdin()); return 0; }
  let status = 0;
  for (const arg of args) {
    const text = await readText(shell, arg);
    if (text === undefined) { io.stderr(`cat: can't open '${arg}': No such file or directory\n`); status = 1; continue; }
    io.stdout(text);
  }
  return status;
};

const envApplet: Applet = async (shell, args, io) => {
  const env = shell.env();
  const assigns = args.filter((arg) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg));
  const command = args.slice(assigns.length);
  for (const assign of assigns) { const at = assign.indexOf('='); env[assign.slice(0, at)] = assign.slice(at + 1); }
  if (command.length > 0) return runApplet(new Shell({ ...shell.process, env, workingDir: shell.cwd }, []), command, io);
  io.stdout(Object.entries(env).map(([key, value]) => `${key}=${value}\n`).join(''));
  return 0;
};

const lsApplet: Applet = async (shell, args, io) => {
  const flags = args.filter((arg) => arg.startsWith('-') && arg !== '-').join('');
  const paths = args.filter((arg) => !arg.startsWith('-') || arg === '-');
  const all = flags.includes('a');
  let status = 0;
  const targets = paths.length === 0 ? ['.'] : paths;
  for (const path of targets) {
    const full = shell.path(path);
    const names = await shell.process.files.readDir(full);
    if (names !== undefined) {
      if (targets.length > 1) io.stdout(`${path}:\n`);
      for (const name of names) if (all || !name.startsWith('.')) io.stdout(`${name}\n`);
      continue;
    }
    if (await shell.process.files.readFile(full) !== undefined) { io.stdout(`${path}\n`); continue; }
    io.stderr(`ls: ${path}: No such file or directory\n`);
    status = 1;
  }
  return status;
};

const hostnameApplet: Applet = async (shell, _args, io) => {
  io.stdout(`${shell.process.hostname}\n`);
  return 0;
};

const exitApplet: Applet = async (shell, args) => {
  const code = args[0] === undefined ? shell.status : Number.parseInt(args[0], 10);
  throw new ExitSignal(Number.isFinite(code) ? code & 255 : 2);
};

const exportApplet: Applet = async (shell, args) => {
  for (const arg of args) {
    const at = arg.indexOf('=');
    const name = at < 0 ? arg : arg.slice(0, at);
    if (at >= 0) shell.vars.set(name, arg.slice(at + 1));
    shell.exported.add(name);
  }
  return 0;
};

const cdApplet: Applet = async (shell, args, io) => {
  const target = shell.path(args[0] ?? shell.vars.get('HOME') ?? '/');
  if (await shell.process.files.readDir(target) === undefined) { io.stderr(`sh: cd: can't cd to ${args[0] ?? target}: No such file or directory\n`); return 2; }
  shell.cwd = target;
  return 0;
};

async function testExpression(shell: Shell, args: readonly string[]): Promise<boolean | string> {
  if (args[0] === '!') { const inner = await testExpression(shell, args.slice(1)); return typeof inner === 'string' ? inner : !inner; }
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    const [op, operand] = args as [string, string];
    switch (op) {
      case '-z': return operand === '';
      case '-n': return operand !== '';
      case '-f': case '-e': case '-s': return await shell.process.files.readFile(shell.path(operand)) !== undefined || (op === '-e' && await shell.process.files.readDir(shell.path(operand)) !== undefined);
      case '-d': return await shell.process.files.readDir(shell.path(operand)) !== undefined;
      default: return `unknown operand ${op}`;
    }
  }
  const [left, op, right] = args as [string, string, string];
  const numbers = (): [number, number] => [Number(left), Number(right)];
  switch (op) {
    case '=': case '==': return left === right;
    case '!=': return left !== right;
    case '-eq': return numbers()[0] === numbers()[1];
    case '-ne': return numbers()[0] !== numbers()[1];
    case '-lt': return numbers()[0] < numbers()[1];
    case '-le': return numbers()[0] <= numbers()[1];
    case '-gt': return numbers()[0] > numbers()[1];
    case '-ge': return numbers()[0] >= numbers()[1];
    default: return `unknown operator ${op}`;
  }
}

const testApplet: Applet = async (shell, args, io) => {
  const result = await testExpression(shell, args);
  if (typeof result === 'string') { io.stderr(`sh: test: ${result}\n`); return 2; }
  return result ? 0 : 1;
};

const bracketApplet: Applet = async (shell, args, io) => {
  if (args[args.length - 1] !== ']') { io.stderr('sh: [: missing ]\n'); return 2; }
  return testApplet(shell, args.slice(0, -1), io);
};

const grepApplet: Applet = async (shell, args, io) => {
  const flags = args.filter((arg) => /^-[qvic]+$/.test(arg)).join('');
  const rest = args.filter((arg) => !/^-[qvic]+$/.test(arg));
  const [pattern, ...paths] = rest;
  if (pattern === undefined) { io.stderr('grep: usage: grep [-qvic] PATTERN [FILE]...\n'); return 2; }
  let regex: RegExp;
  try { regex = new RegExp(pattern, flags.includes('i') ? 'i' : ''); } catch { io.stderr(`grep: bad regex '${pattern}'\n`); return 2; }
  const text = paths.length > 0 ? (await Promise.all(paths.map((path) => readText(shell, path)))).map((t) => t ?? '').join('') : await io.stdin();
  const lines = text.split('\n').filter((line, i, all) => !(i === all.length - 1 && line === '')).filter((line) => regex.test(line) !== flags.includes('v'));
  if (flags.includes('c')) io.stdout(`${lines.length}\n`);
  else if (!flags.includes('q')) io.stdout(lines.map((line) => `${line}\n`).join(''));
  return lines.length > 0 ? 0 : 1;
};

const headApplet: Applet = async (shell, args, io) => {
  const n = args[0] === '-n' ? Number(args[1]) : /^-\d+$/.test(args[0] ?? '') ? Number(args[0]!.slice(1)) : 10;
  const paths = args.filter((arg, i) => !arg.startsWith('-') && !(args[0] === '-n' && i === 1));
  const text = paths.length > 0 ? (await readText(shell, paths[0]!)) ?? '' : await io.stdin();
  io.stdout(text.split('\n').slice(0, n).map((line) => `${line}\n`).join('').replace(/\n$/, text.endsWith('\n') || text.split('\n').length > n ? '\n' : ''));
  return 0;
};

const touchApplet: Applet = async (shell, args, io) => {
  for (const arg of args) {
    const path = shell.path(arg);
    try {
      if (await shell.process.files.readFile(path) === undefined) await shell.process.files.writeFile(path, new Uint8Array());
    } catch (error) { io.stderr(`touch: ${errorText(error)}\n`); return 1; }
  }
  return 0;
};

const dateApplet: Applet = async (shell, args, io) => {
  const now = new Date(shell.process.clock.wallNow());
  io.stdout(args[0] === '+%s' ? `${Math.floor(now.getTime() / 1000)}\n` : `${now.toUTCString().replace('GMT', 'UTC')}\n`);
  return 0;
};

const wgetApplet: Applet = async (shell, args, io) => {
  let quiet = false;
  let output: string | undefined;
  let timeoutMs = 900_000;
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-q') quiet = true;
    else if (arg === '-O') output = args[++i];
    else if (arg.startsWith('-O')) output = arg.slice(2);
    else if (arg === '-T') timeoutMs = Number(args[++i]) * 1000;
    else if (arg.startsWith('-T')) timeoutMs = Number(arg.slice(2)) * 1000;
    else if (arg === '--spider' || arg === '-S' || arg === '-s') output = '/dev/null';
    else if (arg.startsWith('-')) { io.stderr(`wget: unrecognized option '${arg}'\n`); return 1; }
    else url = arg;
  }
  if (url === undefined) { io.stderr('wget: usage: wget [-q] [-O FILE] [-T SEC] URL\n'); return 1; }
  if (!(timeoutMs > 0)) { io.stderr('wget: bad -T value\n'); return 1; }
  const fullUrl = /^[a-z]+:\/\//.test(url) ? url : `http://${url}`;
  const result = await httpGet(shell.process, fullUrl, { timeoutMs, bodyBytesMax: pipeBytesMax });
  if (!result.ok) { io.stderr(`wget: ${result.message}\n`); return 1; }
  const file = output ?? (new URL(fullUrl).pathname.split('/').pop() || 'index.html');
  if (!quiet) io.stderr(`Connecting to ${new URL(fullUrl).host}\n`);
  if (result.status >= 400) { io.stderr(`wget: server returned error: HTTP/1.1 ${result.status} ${result.statusText}\n`); return 1; }
  if (file === '-') { io.stdout(result.body); return 0; }
  if (file === '/dev/null') return 0;
  try {
    await shell.process.files.writeFile(shell.path(file), Buffer.from(result.body, 'utf8'));
  } catch (error) { io.stderr(`wget: can't open '${file}': ${errorText(error)}\n`); return 1; }
  if (!quiet) io.stderr(`saving to '${file}'\n`);
  return 0;
};

const nslookupApplet: Applet = async (shell, args, io) => {
  const name = args.find((arg) => !arg.startsWith('-'));
  if (name === undefined) { io.stderr('Usage: nslookup HOST [DNS_SERVER]\n'); return 1; }
  const resolv = (await readText(shell, '/etc/resolv.conf')) ?? '';
  const server = /^nameserver\s+(\S+)/m.exec(resolv)?.[1] ?? '127.0.0.53';
  io.stdout(`Server:\t\t${server}\nAddress:\t${server}:53\n\n`);
  let ips: readonly string[];
  try {
    ips = /^\d+\.\d+\.\d+\.\d+$/.test(name) ? [name] : await shell.process.net.resolve(name);
  } catch (error) {
    io.stdout(`;; connection timed out; no servers could be reached (${errorText(error)})\n\n`);
    return 1;
  }
  if (ips.length === 0) { io.stderr(`** server can't find ${name}: NXDOMAIN\n\n`); return 1; }
  for (const ip of ips) io.stdout(`Name:\t${name}\nAddress: ${ip}\n\n`);
  return 0;
};

const shApplet: Applet = async (shell, args, io) => {
  if (args[0] === '-c') {
    if (args[1] === undefined) { io.stderr('sh: -c requires an argument\n'); return 2; }
    return shell.subshell([args[2] ?? 'sh', ...args.slice(3)]).runScript(args[1], io);
  }
  if (args[0] !== undefined) {
    const script = await readText(shell, args[0]);
    if (script === undefined) { io.stderr(`sh: can't open '${args[0]}': No such file or directory\n`); return 2; }
    return shell.subshell(args).runScript(script, io);
  }
  // A live stdin (kubectl exec -i): read and run it line by line, as an interactive shell does.
  if (io.nextLine !== undefined) return interactive(shell.subshell(['sh']), io.nextLine, io);
  // No script and no terminal: the script is stdin (empty for a container without stdin: it exits 0, as busybox's does).
  return shell.subshell(['sh']).runScript(await io.stdin(), io);
};

/**
 * `sh` reading a live stdin: each line is run when it arrives (a construct spanning lines, such as
 * a multi-line `if`, is not joined: write it on one line). On a terminal it prompts like busybox's
 * ash (`/ # `). `exit` or the end of stdin ends it.
 */
async function interactive(shell: Shell, nextLine: () => Promise<string | undefined>, io: Io): Promise<number> {
  const lineIo: Io = { stdin: noInput, stdout: io.stdout, stderr: io.stderr };
  for (;;) {
    if (shell.process.tty === true) io.stdout(`${shell.cwd === '/' ? '/' : shell.cwd.split('/').pop()} # `);
    const line = await nextLine();
    if (line === undefined || shell.process.signal.aborted) return shell.status;
    if (line.trim() === '') continue;
    const exited = await shell.runLine(line, lineIo);
    if (exited !== undefined) return exited;
  }
}

const applets: Readonly<Record<string, Applet>> = {
  sh: shApplet, ash: shApplet, bash: shApplet,
  sleep: sleepApplet, echo: echoApplet, printf: printfApplet, cat: catApplet, env: envApplet, ls: lsApplet,
  wget: wgetApplet, nslookup: nslookupApplet, hostname: hostnameApplet, exit: exitApplet, export: exportApplet,
  cd: cdApplet, test: testApplet, '[': bracketApplet, grep: grepApplet, head: headApplet, touch: touchApplet, date: dateApplet,
  true: async () => 0, false: async () => 1, ':': async () => 0,
  pwd: async (shell, _args, io) => { io.stdout(`${shell.cwd}\n`); return 0; },
};

/** Runs one command line (argv[0] a shell builtin or applet, by name or path; `busybox APPLET ...` too). */
async function runApplet(shell: Shell, argv: readonly string[], io: Io): Promise<number> {
  let name = argv[0]!.split('/').pop()!;
  let args = argv.slice(1);
  if (name === 'busybox' && args.length > 0) { name = args[0]!.split('/').pop()!; args = args.slice(1); }
  const applet = applets[name];
  if (applet === undefined) { io.stderr(`sh: ${argv[0]}: not found\n`); return 127; }
  try {
    return await applet(shell, args, io);
  } catch (error) {
    if (error instanceof ExitSignal) throw error;
    io.stderr(`${name}: ${errorText(error)}\n`);
    return 1;
  }
}

/** A container's process (or an exec) that is a shell command line: what busybox and alpine run, and what exec runs in most images. */
export async function runShellProcess(process: ContainerProcess): Promise<number> {
  if (process.argv.length === 0) { process.stderr('no command specified\n'); return 127; }
  const shell = new Shell(process, ['sh']);
  const input = process.stdin === undefined ? undefined : new StdinBuffer(process.stdin);
  const io: Io = input === undefined
    ? { stdin: noInput, stdout: (text) => process.stdout(text), stderr: (text) => process.stderr(text) }
    : { stdin: () => input.all(), nextLine: () => input.line(), stdout: (text) => process.stdout(text), stderr: (text) => process.stderr(text) };
  try {
    return await runApplet(shell, process.argv, io);
  } catch (error) {
    if (error instanceof ExitSignal) return error.code;
    throw error;
  }
}
