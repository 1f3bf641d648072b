/**
 * A container's stdout/stderr log: timestamped lines, bounded in bytes (the oldest lines are
 * dropped, as log rotation with one kept file would), read with kubectl's filters.
 */
import type { LogLine } from './messages.js';

/** Upstream's default container-log-max-size is 10 MiB; pocketkube keeps 1 MiB in memory. */
export const defaultLogBytesMax = 1024 * 1024;
/** A single line longer than this is split (the runtime's line buffer, as CRI's 16 KiB partial lines). */
const logLineBytesMax = 16 * 1024;

/** RFC 3339 with nanoseconds, as `kubectl logs --timestamps` prints them. */
function formatRfc3339Nano(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** A log line as kubectl prints it: the text and its newline, after its timestamp when asked. */
export function logLineText(line: LogLine, timestamps: boolean): string {
  return `${timestamps ? `${formatRfc3339Nano(line.timeMs)} ` : ''}${line.text}\n`;
}

export interface LogQuery {
  readonly tailLines?: number;
  /** Wall-clock ms: only lines at or after it. */
  readonly sinceMs?: number;
  readonly limitBytes?: number;
}

function lineBytes(line: LogLine): number {
  return Buffer.byteLength(line.text, 'utf8') + 1;
}

export class ContainerLog {
  private lines: LogLine[] = [];
  private head = 0;
  private bytes = 0;
  private readonly partial = { stdout: '', stderr: '' };
  /** Lines dropped to stay within the bound since the container started. */
  droppedLines = 0;
  /** Followers (`kubectl logs -f`): told every new line. */
  private readonly followers = new Set<(line: LogLine) => void>();

  constructor(private readonly bytesMax: number = defaultLogBytesMax) {
    if (!(bytesMax > 0)) throw new Error(`log bound must be > 0 bytes, got ${bytesMax}`);
  }

  /** Appends output; complete lines are stamped now, a trailing partial line waits for its newline (or `flush`). */
  write(stream: 'stdout' | 'stderr', text: string, nowMs: number): void {
    const pieces = (this.partial[stream] + text).split('\n');
    this.partial[stream] = pieces.pop() ?? '';
    for (const piece of pieces) this.push({ timeMs: nowMs, stream, text: piece });
    while (this.partial[stream].length > logLineBytesMax) {
      this.push({ timeMs: nowMs, stream, text: this.partial[stream].slice(0, logLineBytesMax) });
      this.partial[stream] = this.partial[stream].slice(logLineBytesMax);
    }
  }

  /** The process exited: its last partial lines become lines. */
  flush(nowMs: number): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] === '') continue;
      this.push({ timeMs: nowMs, stream, text: this.partial[stream] });
      this.partial[stream] = '';
    }
  }

  /** Tells `listener` every line from now on; the returned function stops that. */
  follow(listener: (line: LogLine) => void): () => void {
    this.followers.add(listener);
    return () => { this.followers.delete(listener); };
  }

  sizeBytes(): number {
    return this.bytes;
  }

  read(query: LogQuery): { readonly lines: LogLine[]; readonly truncated: boolean } {
    let lines = this.lines.slice(this.head);
    if (query.sinceMs !== undefined) lines = lines.filter((line) => line.timeMs >= query.sinceMs!);
    if (query.tailLines !== undefined && query.tailLines >= 0) lines = query.tailLines === 0 ? [] : lines.slice(-query.tailLines);
    if (query.limitBytes === undefined || query.limitBytes <= 0) return { lines, truncated: false };
    const kept: LogLine[] = [];
    let budget = query.limitBytes;
    for (const line of lines) {
      const size = lineBytes(line);
      if (size > budget) {
        // kubelet's limitBytes cuts mid-line; the cut line is returned partly.
        if (budget > 1) kept.push({ ...line, text: Buffer.from(line.text, 'utf8').subarray(0, budget - 1).toString('utf8') });
        return { lines: kept, truncated: true };
      }
      kept.push(line);
      budget -= size;
    }
    return { lines: kept, truncated: false };
  }

  private push(line: LogLine): void {
    for (const follower of this.followers) follower(line);
    this.lines.push(line);
    this.bytes += lineBytes(line);
    while (this.bytes > this.bytesMax && this.head < this.lines.length) {
      this.bytes -= lineBytes(this.lines[this.head]!);
      this.head++;
      this.droppedLines++;
    }
    // Compact once the dropped prefix dominates, so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }
}
