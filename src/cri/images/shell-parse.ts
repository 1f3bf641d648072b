/**
 * The parser of the images' small POSIX-ish shell (busybox `sh` in spirit): words with single and
 * double quotes, backslashes, `$VAR` / `${VAR}` / `$?` / `$1` / `$(command)`, lists with `;`,
 * newlines, `&&`, `||`, pipes, redirections (`>`, `>>`, `2>`, `2>&1`), `while`/`until`, `if`,
 * and `for NAME in words`. What it does not know fails with a syntax error naming the token.
 */

export type Segment =
  | { readonly kind: 'text'; readonly text: string; readonly quoted: boolean }
  | { readonly kind: 'var'; readonly name: string; readonly quoted: boolean }
  | { readonly kind: 'subst'; readonly script: string; readonly quoted: boolean };

export interface Word {
  readonly segments: readonly Segment[];
}

export interface Redirect {
  readonly fd: 1 | 2;
  readonly append: boolean;
  /** `2>&1`: the target is another descriptor. */
  readonly toFd?: 1 | 2;
  readonly target?: Word;
}

export type Command =
  | { readonly kind: 'simple'; readonly assigns: readonly { readonly name: string; readonly value: Word }[]; readonly words: readonly Word[]; readonly redirects: readonly Redirect[] }
  | { readonly kind: 'loop'; readonly until: boolean; readonly condition: Sequence; readonly body: Sequence }
  | { readonly kind: 'if'; readonly branches: readonly { readonly condition: Sequence; readonly body: Sequence }[]; readonly otherwise?: Sequence }
  | { readonly kind: 'for'; readonly name: string; readonly items: readonly Word[]; readonly body: Sequence };

export type Pipeline = readonly Command[];
export interface AndOr {
  readonly first: Pipeline;
  readonly rest: readonly { readonly op: '&&' | '||'; readonly pipeline: Pipeline }[];
}
export type Sequence = readonly AndOr[];

type Token =
  | { readonly kind: 'word'; readonly word: Word; readonly raw: string }
  | { readonly kind: 'op'; readonly op: ';' | '\n' | '&&' | '||' | '|' | '&' }
  | { readonly kind: 'redirect'; readonly fd: 1 | 2; readonly append: boolean; readonly toFd?: 1 | 2 };

/** Bound on a script's length (a container command line). */
const scriptCharsMax = 64 * 1024;

export class ShellSyntaxError extends Error {}

const nameStart = /[A-Za-z_]/;
const nameChar = /[A-Za-z0-9_]/;

class Lexer {
  private i = 0;
  readonly tokens: Token[] = [];
  private segments: Segment[] = [];
  private raw = '';

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.i < this.src.length) this.step();
    this.endWord();
    return this.tokens;
  }

  private step(): void {
    const c = this.src[this.i]!;
    if (c === ' ' || c === '\t') { this.endWord(); this.i++; return; }
    if (c === '#' && this.raw === '') { while (this.i < this.src.length && this.src[this.i] !== '\n') this.i++; return; }
    if (c === '\n' || c === ';') { this.endWord(); this.tokens.push({ kind: 'op', op: c }); this.i++; return; }
    if (c === '&' || c === '|') { this.operator(c); return; }
    if (c === '>') { this.redirect(); return; }
    if (c === "'") { this.single(); return; }
    if (c === '"') { this.double(); return; }
    if (c === '\\') { this.text(this.src[this.i + 1] ?? '', true); this.i += 2; return; }
    if (c === '$') { this.dollar(false); return; }
    this.text(c, false);
    this.i++;
  }

  private operator(c: '&' | '|'): void {
    this.endWord();
    const doubled = this.src[this.i + 1] === c;
    this.tokens.push({ kind: 'op', op: doubled ? (c === '&' ? '&&' : '||') : c });
    this.i += doubled ? 2 : 1;
  }

  private redirect(): void {
    // `2>`: a lone unquoted digit right before `>` names the descriptor.
    let fd: 1 | 2 = 1;
    if ((this.raw === '1' || this.raw === '2') && this.segments.length === 1) {
      fd = this.raw === '2' ? 2 : 1;
      this.segments = [];
      this.raw = '';
    }
    this.endWord();
    const append = this.src[this.i + 1] === '>';
    this.i += append ? 2 : 1;
    const dup = /^&([12])/.exec(this.src.slice(this.i));
    if (dup !== null) {
      this.i += 2;
      this.tokens.push({ kind: 'redirect', fd, append, toFd: dup[1] === '2' ? 2 : 1 });
      return;
    }
    this.tokens.push({ kind: 'redirect', fd, append });
  }

  private text(text: string, quoted: boolean): void {
    const last = this.segments[this.segments.length - 1];
    if (last?.kind === 'text' && last.quoted === quoted) this.segments[this.segments.length - 1] = { ...last, text: last.text + text };
    else this.segments.push({ kind: 'text', text, quoted });
    this.raw += text;
  }

  private single(): void {
    const end = this.src.indexOf("'", this.i + 1);
    if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
    this.text(this.src.slice(this.i + 1, end), true);
    this.raw += "''";
    this.i = end + 1;
  }

  private double(): void {
    this.i++;
    this.raw += '""';
    this.text('', true);
    while (this.i < this.src.length && this.src[this.i] !== '"') {
      const c = this.src[this.i]!;
      if (c === '\\' && '$`"\\\n'.includes(this.src[this.i + 1] ?? '')) { this.text(this.src[this.i + 1]!, true); this.i += 2; continue; }
      if (c === '$') { this.dollar(true); continue; }
      this.text(c, true);
      this.i++;
    }
    if (this.src[this.i] !== '"') throw new ShellSyntaxError('unterminated quoted string');
    this.i++;
  }

  private dollar(quoted: boolean): void {
    const next = this.src[this.i + 1] ?? '';
    this.raw += '$';
    if (next === '(') { this.substitution(quoted); return; }
    if (next === '{') {
      const end = this.src.indexOf('}', this.i + 2);
      if (end < 0) throw new ShellSyntaxError('missing }');
      this.segments.push({ kind: 'var', name: this.src.slice(this.i + 2, end), quoted });
      this.i = end + 1;
      return;
    }
    if (/[?$#@0-9]/.test(next)) { this.segments.push({ kind: 'var', name: next, quoted }); this.i += 2; return; }
    if (!nameStart.test(next)) { this.text('$', quoted); this.i++; return; }
    let end = this.i + 1;
    while (end < this.src.length && nameChar.test(this.src[end]!)) end++;
    this.segments.push({ kind: 'var', name: this.src.slice(this.i + 1, end), quoted });
    this.i = end;
  }

  private substitution(quoted: boolean): void {
    let depth = 0;
    let j = this.i + 1;
    for (; j < this.src.length; j++) {
      const c = this.src[j];
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
      else if (c === "'") j = Math.max(j, this.src.indexOf("'", j + 1));
    }
    if (j >= this.src.length) throw new ShellSyntaxError('unterminated $(');
    this.segments.push({ kind: 'subst', script: this.src.slice(this.i + 2, j), quoted });
    this.i = j + 1;
  }

  private endWord(): void {
    if (this.segments.length === 0) return;
    this.tokens.push({ kind: 'word', word: { segments: this.segments }, raw: this.raw });
    this.segments = [];
    this.raw = '';
  }
}

const reserved = new Set(['do', 'done', 'then', 'else', 'elif', 'fi', 'in']);

class Parser {
  private i = 0;

  constructor(private readonly tokens: Token[]) {}

  script(): Sequence {
    const sequence = this.sequence(new Set());
    const left = this.tokens[this.i];
    if (left !== undefined) throw new ShellSyntaxError(`syntax error: unexpected ${describe(left)}`);
    return sequence;
  }

  private peekWord(): string | undefined {
    const t = this.tokens[this.i];
    return t?.kind === 'word' ? t.raw : undefined;
  }

  private skipSeparators(): void {
    while (this.tokens[this.i]?.kind === 'op' && ['\n', ';'].includes((this.tokens[this.i] as { op: string }).op)) this.i++;
  }

  /** And-or lists up to one of `stops` (a reserved word) or the end. */
  private sequence(stops: ReadonlySet<string>): Sequence {
    const items: AndOr[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.tokens[this.i];
      if (t === undefined) break;
      if (t.kind === 'word' && stops.has(t.raw)) break;
      items.push(this.andOr());
      const after = this.tokens[this.i];
      if (after?.kind === 'op' && after.op === '&') throw new ShellSyntaxError('background jobs (&) are not supported');
    }
    return items;
  }

  private andOr(): AndOr {
    const first = this.pipeline();
    const rest: { op: '&&' | '||'; pipeline: Pipeline }[] = [];
    for (;;) {
      const t = this.tokens[this.i];
      if (t?.kind !== 'op' || (t.op !== '&&' && t.op !== '||')) return { first, rest };
      this.i++;
      while (this.tokens[this.i]?.kind === 'op' && (this.tokens[this.i] as { op: string }).op === '\n') this.i++;
      rest.push({ op: t.op, pipeline: this.pipeline() });
    }
  }

  private pipeline(): Pipeline {
    const commands = [this.command()];
    while (this.tokens[this.i]?.kind === 'op' && (this.tokens[this.i] as { op: string }).op === '|') {
      this.i++;
      commands.push(this.command());
    }
    return commands;
  }

  private expect(word: string): void {
    this.skipSeparators();
    if (this.peekWord() !== word) throw new ShellSyntaxError(`syntax error: expected "${word}"${this.tokens[this.i] ? ` before ${describe(this.tokens[this.i]!)}` : ' at end of input'}`);
    this.i++;
  }

  private command(): Command {
    const head = this.peekWord();
    if (head === 'while' || head === 'until') return this.loop(head === 'until');
    if (head === 'if') return this.ifCommand();
    if (head === 'for') return this.forCommand();
    if (head !== undefined && reserved.has(head)) throw new ShellSyntaxError(`syntax error: unexpected "${head}"`);
    return this.simple();
  }

  private loop(until: boolean): Command {
    this.i++;
    const condition = this.sequence(new Set(['do']));
    this.expect('do');
    const body = this.sequence(new Set(['done']));
    this.expect('done');
    return { kind: 'loop', until, condition, body };
  }

  private ifCommand(): Command {
    this.i++;
    const branches: { condition: Sequence; body: Sequence }[] = [];
    let otherwise: Sequence | undefined;
    for (;;) {
      const condition = this.sequence(new Set(['then']));
      this.expect('then');
      branches.push({ condition, body: this.sequence(new Set(['elif', 'else', 'fi'])) });
      const next = this.peekWord();
      this.i++;
      if (next === 'elif') continue;
      if (next === 'else') { otherwise = this.sequence(new Set(['fi'])); this.expect('fi'); }
      else if (next !== 'fi') throw new ShellSyntaxError('syntax error: expected "fi"');
      return { kind: 'if', branches, ...(otherwise === undefined ? {} : { otherwise }) };
    }
  }

  private forCommand(): Command {
    this.i++;
    const name = this.peekWord();
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ShellSyntaxError('syntax error: bad for loop variable');
    this.i++;
    const items: Word[] = [];
    if (this.peekWord() === 'in') {
      this.i++;
      for (let t = this.tokens[this.i]; t?.kind === 'word'; t = this.tokens[this.i]) { items.push(t.word); this.i++; }
    }
    this.expect('do');
    const body = this.sequence(new Set(['done']));
    this.expect('done');
    return { kind: 'for', name, items, body };
  }

  private simple(): Command {
    const assigns: { name: string; value: Word }[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    for (let t = this.tokens[this.i]; t !== undefined; t = this.tokens[this.i]) {
      if (t.kind === 'op') break;
      this.i++;
      if (t.kind === 'redirect') { redirects.push(this.redirectTarget(t)); continue; }
      const assign = words.length === 0 ? asAssignment(t.word) : undefined;
      if (assign !== undefined) assigns.push(assign);
      else words.push(t.word);
    }
    if (words.length === 0 && assigns.length === 0 && redirects.length === 0) {
      const t = this.tokens[this.i];
      throw new ShellSyntaxError(`syntax error: unexpected ${t === undefined ? 'end of input' : describe(t)}`);
    }
    return { kind: 'simple', assigns, words, redirects };
  }

  private redirectTarget(t: Extract<Token, { kind: 'redirect' }>): Redirect {
    if (t.toFd !== undefined) return { fd: t.fd, append: t.append, toFd: t.toFd };
    const target = this.tokens[this.i];
    if (target?.kind !== 'word') throw new ShellSyntaxError('syntax error: redirection without a file');
    this.i++;
    return { fd: t.fd, append: t.append, target: target.word };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'word': return `"${t.raw}"`;
    case 'op': return t.op === '\n' ? 'newline' : `"${t.op}"`;
    case 'redirect': return '">"';
    default: { const never: never = t; return String(never); }
  }
}

/** `NAME=value` at the start of a simple command. */
function asAssignment(word: Word): { name: string; value: Word } | undefined {
  const first = word.segments[0];
  if (first?.kind !== 'text' || first.quoted) return undefined;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
  if (match === null) return undefined;
  const restText = first.text.slice(match[0].length);
  const segments: Segment[] = [...(restText === '' ? [] : [{ ...first, text: restText }]), ...word.segments.slice(1)];
  return { name: match[1]!, value: { segments: segments.length === 0 ? [{ kind: 'text', text: '', quoted: true }] : segments } };
}

export function parseShell(script: string): Sequence {
  if (script.length > scriptCharsMax) throw new ShellSyntaxError(`script longer than ${scriptCharsMax} characters`);
  return new Parser(new Lexer(script).run()).script();
}
