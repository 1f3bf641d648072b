/**
 * A small terminal line discipline for `kubectl exec -it` (the part of a pty's cooked mode a
 * shell needs): kubectl puts the user's terminal in raw mode and sends keystrokes as they are
 * typed, so the container's side echoes them, edits the line (backspace), hands the process whole
 * lines, and turns ^D on an empty line into the end of input and ^C into an interrupt. Output
 * newlines become CR LF (onlcr). Escape sequences (arrow keys) are dropped: there is no history.
 */

export interface TtyInput {
  /** Complete lines for the process, each with its newline. */
  readonly lines: readonly string[];
  /** ^D on an empty line: stdin ended. */
  readonly eof: boolean;
  /** ^C: the process is interrupted. */
  readonly interrupt: boolean;
}

/** Longest line kept (a pty's canonical buffer is 4 KiB; more is dropped, as there). */
const lineCharsMax = 4096;

export class TtyLineDiscipline {
  private line = '';
  /** 0 outside an escape sequence, 1 after ESC, 2 inside `ESC [`. */
  private escape = 0;

  constructor(private readonly echo: (text: string) => void) {}

  input(text: string): TtyInput {
    const lines: string[] = [];
    let eof = false;
    let interrupt = false;
    let echoed = '';
    for (const ch of text) {
      if (this.escape === 1) { this.escape = ch === '[' || ch === 'O' ? 2 : 0; continue; }
      if (this.escape === 2) { if (/[@-~]/.test(ch)) this.escape = 0; continue; }
      switch (ch) {
        case '\x1b': this.escape = 1; break;
        case '\r': case '\n':
          echoed += '\r\n';
          lines.push(`${this.line}\n`);
          this.line = '';
          break;
        case '\x7f': case '\b':
          if (this.line.length > 0) { this.line = [...this.line].slice(0, -1).join(''); echoed += '\b \b'; }
          break;
        case '\x03':
          echoed += '^C\r\n';
          this.line = '';
          interrupt = true;
          break;
        case '\x04':
          // ^D: the end of input on an empty line; otherwise it hands over the line so far.
          if (this.line === '') eof = true;
          else { lines.push(this.line); this.line = ''; }
          break;
        case '\x15':
          // ^U erases the line.
          echoed += '\b \b'.repeat([...this.line].length);
          this.line = '';
          break;
        default:
          if (ch < ' ' && ch !== '\t') break;
          if (this.line.length < lineCharsMax) { this.line += ch; echoed += ch; }
      }
      if (eof || interrupt) break;
    }
    if (echoed !== '') this.echo(echoed);
    return { lines, eof, interrupt };
  }
}

/** Output on a terminal: LF becomes CR LF (a lone CR LF stays as it is). */
export function ttyOutput(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}
