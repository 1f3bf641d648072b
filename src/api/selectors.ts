/**
 * Label selectors (string syntax and LabelSelector objects) and field selectors, with the
 * semantics of k8s.io/apimachinery/pkg/labels and pkg/fields.
 */
import { isQualifiedName, isValidLabelValue } from './names.js';
import { asArray, asRecord, asString, isRecord, type JsonObject } from './types.js';

export type LabelOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'GreaterThan' | 'LessThan';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type SelectorResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** A parsed label selector: all requirements must hold. An empty list matches everything. */
export type LabelSelectorReqs = LabelRequirement[];

const maxSelectorLengthChars = 16 * 1024;
const maxSelectorValues = 1000;

type Tok =
  | { t: 'id'; v: string } | { t: '!' } | { t: '=' } | { t: '==' } | { t: '!=' } | { t: 'in' } | { t: 'notin' }
  | { t: '(' } | { t: ')' } | { t: ',' } | { t: '<' } | { t: '>' } | { t: 'eof' };

const special = new Set(['!', '=', '(', ')', ',', '<', '>']);

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) { i++; continue; }
    if (c === '!' && s[i + 1] === '=') { out.push({ t: '!=' }); i += 2; continue; }
    if (c === '=' && s[i + 1] === '=') { out.push({ t: '==' }); i += 2; continue; }
    if (special.has(c)) { out.push({ t: c } as Tok); i++; continue; }
    let j = i;
    while (j < s.length && !special.has(s[j] ?? '') && !/\s/.test(s[j] ?? '')) j++;
    const word = s.slice(i, j);
    out.push(word === 'in' ? { t: 'in' } : word === 'notin' ? { t: 'notin' } : { t: 'id', v: word });
    i = j;
  }
  out.push({ t: 'eof' });
  return out;
}

function describe(tok: Tok): string {
  return tok.t === 'id' ? tok.v : tok.t === 'eof' ? '' : tok.t;
}

class SelectorParser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok { return this.toks[this.pos] ?? { t: 'eof' }; }
  private next(): Tok { const t = this.peek(); this.pos++; return t; }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    if (this.peek().t === 'eof') return reqs;
    while (true) {
      reqs.push(this.requirement());
      const t = this.next();
      if (t.t === 'eof') return reqs;
      if (t.t !== ',') throw new Error(`found '${describe(t)}', expected: ',' or 'end of string'`);
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    if (t.t === '!') {
      t = this.next();
      if (t.t !== 'id') throw new Error(`found '${describe(t)}', expected: identifier after '!'`);
      return makeRequirement(t.v, 'DoesNotExist', []);
    }
    if (t.t !== 'id') throw new Error(`found '${describe(t)}', expected: !, identifier, or 'end of string'`);
    const key = t.v;
    const op = this.peek();
    switch (op.t) {
      case 'eof': case ',':
        return makeRequirement(key, 'Exists', []);
      case '=': case '==': case '!=': {
        this.next();
        const v = this.peek();
        let value = '';
        if (v.t === 'id') { this.next(); value = v.v; } else if (v.t !== 'eof' && v.t !== ',') throw new Error(`found '${describe(v)}', expected: identifier`);
        return makeRequirement(key, op.t === '!=' ? 'NotEquals' : 'Equals', [value]);
      }
      case '<': case '>': {
        this.next();
        const v = this.next();
        if (v.t !== 'id') throw new Error(`found '${describe(v)}', expected: identifier`);
        return makeRequirement(key, op.t === '<' ? 'LessThan' : 'GreaterThan', [v.v]);
      }
      case 'in': case 'notin': {
        this.next();
        return makeRequirement(key, op.t === 'in' ? 'In' : 'NotIn', this.valueSet());
      }
      default:
        throw new Error(`found '${describe(op)}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.t !== '(') throw new Error(`found '${describe(open)}', expected: '('`);
    const values: string[] = [];
    while (true) {
      const v = this.peek();
      if (v.t === 'id') { this.next(); values.push(v.v); } else if (v.t === ',' || v.t === ')') values.push('');
      else throw new Error(`found '${describe(v)}', expected: ',', ')' or identifier`);
      const sep = this.next();
      if (sep.t === ')') break;
      if (sep.t !== ',') throw new Error(`found '${describe(sep)}', expected: ',' or ')'`);
      if (values.length > maxSelectorValues) throw new Error(`too many values (limit ${maxSelectorValues})`);
    }
    // "in ()" lexes as one empty value; Kubernetes treats it as an empty set.
    return values.length === 1 && values[0] === '' ? [] : values;
  }
}

function makeRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) throw new Error(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
  switch (operator) {
    case 'In': case 'NotIn':
      if (values.length === 0) throw new Error("for 'in', 'notin' operators, values set can't be empty");
      break;
    case 'Equals': case 'NotEquals':
      if (values.length !== 1) throw new Error("exact-match compatibility requires one single value");
      break;
    case 'Exists': case 'DoesNotExist':
      if (values.length !== 0) throw new Error("values set must be empty for exists and does not exist");
      break;
    case 'GreaterThan': case 'LessThan':
      if (values.length !== 1 || !/^-?[0-9]+$/.test(values[0] ?? '')) {
        throw new Error(`for 'Gt', 'Lt' operators, the value must be an integer`);
      }
      return { key, operator, values };
    default: {
      const never: never = operator;
      throw new Error(`operator ${String(never)}`);
    }
  }
  for (const v of values) {
    const errs = isValidLabelValue(v);
    if (errs.length > 0) throw new Error(`values[0]: Invalid value: ${JSON.stringify(v)}: ${errs.join('; ')}`);
  }
  return { key, operator, values };
}

/** Parses `app=nginx,tier!=db,env in (a,b),!legacy`. */
export function parseLabelSelector(selector: string): SelectorResult<LabelSelectorReqs> {
  if (selector.length > maxSelectorLengthChars) return { ok: false, error: `label selector longer than ${maxSelectorLengthChars} characters` };
  try {
    return { ok: true, value: new SelectorParser(lex(selector)).parse() };
  } catch (e) {
    return { ok: false, error: `unable to parse requirement: ${(e as Error).message}` };
  }
}

function matchRequirement(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In': case 'Equals': return v !== undefined && r.values.includes(v);
    case 'NotIn': case 'NotEquals': return v === undefined || !r.values.includes(v);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'GreaterThan': case 'LessThan': {
      if (v === undefined || !/^-?[0-9]+$/.test(v)) return false;
      const a = Number(v);
      const b = Number(r.values[0]);
      return r.operator === 'GreaterThan' ? a > b : a < b;
    }
    default: {
      const never: never = r.operator;
      throw new Error(`operator ${String(never)}`);
    }
  }
}

export function matchesLabels(reqs: LabelSelectorReqs, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => matchRequirement(r, l));
}

/**
 * A metav1.LabelSelector object → requirements. `null`/absent selects nothing (Kubernetes'
 * LabelSelectorAsSelector(nil)); `{}` selects everything.
 */
export function labelSelectorFromObject(sel: unknown): SelectorResult<LabelSelectorReqs | 'nothing'> {
  if (sel === null || sel === undefined) return { ok: true, value: 'nothing' };
  if (!isRecord(sel)) return { ok: false, error: 'selector must be an object' };
  const reqs: LabelRequirement[] = [];
  try {
    const ml = asRecord(sel['matchLabels']) ?? {};
    for (const k of Object.keys(ml).sort()) {
      const v = ml[k];
      if (typeof v !== 'string') throw new Error(`matchLabels[${k}] must be a string`);
      reqs.push(makeRequirement(k, 'Equals', [v]));
    }
    for (const e of asArray(sel['matchExpressions'])) {
      const expr = asRecord(e) ?? {};
      const key = asString(expr['key']) ?? '';
      const op = asString(expr['operator']) ?? '';
      const values = asArray(expr['values']).map((v) => String(v));
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') throw new Error(`${JSON.stringify(op)} is not a valid label selector operator`);
      reqs.push(makeRequirement(key, op, values));
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  return { ok: true, value: reqs };
}

/** Convenience: does this LabelSelector object match these labels? Invalid selectors match nothing. */
export function labelSelectorMatches(sel: unknown, labels: Readonly<Record<string, string>> | undefined): boolean {
  const r = labelSelectorFromObject(sel);
  if (!r.ok || r.value === 'nothing') return false;
  return matchesLabels(r.value, labels);
}

/** Canonical string form ("app=nginx,tier in (a,b)") as in Scale status.selector. */
export function labelSelectorToString(reqs: LabelSelectorReqs): string {
  return reqs.map((r) => {
    switch (r.operator) {
      case 'Equals': return `${r.key}=${r.values[0] ?? ''}`;
      case 'NotEquals': return `${r.key}!=${r.values[0] ?? ''}`;
      case 'In': return `${r.key} in (${[...r.values].sort().join(',')})`;
      case 'NotIn': return `${r.key} notin (${[...r.values].sort().join(',')})`;
      case 'Exists': return r.key;
      case 'DoesNotExist': return `!${r.key}`;
      case 'GreaterThan': return `${r.key}>${r.values[0] ?? ''}`;
      case 'LessThan': return `${r.key}<${r.values[0] ?? ''}`;
      default: {
        const never: never = r.operator;
        throw new Error(`operator ${String(never)}`);
      }
    }
  }).join(',');
}

// ---------------------------------------------------------------------------------------------
// Field selectors

export interface FieldRequirement {
  field: string;
  operator: 'Equals' | 'NotEquals';
  value: string;
}

type FieldGetter = (obj: JsonObject) => string;

function path(...keys: string[]): FieldGetter {
  return (obj) => {
    let cur: unknown = obj;
    for (const k of keys) cur = asRecord(cur)?.[k];
    if (cur === undefined || cur === null) return '';
    return typeof cur === 'string' ? cur : typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : '';
  };
}

const boolPath = (...keys: string[]): FieldGetter => (obj) => (path(...keys)(obj) === 'true' ? 'true' : 'false');

const commonFields: Record<string, FieldGetter> = {
  'metadata.name': path('metadata', 'name'),
  'metadata.namespace': path('metadata', 'namespace'),
};

/** Per-resource field labels, from each Kubernetes registry's GetAttrs/field label conversion. */
const kindFields: Record<string, Record<string, FieldGetter>> = {
  pods: {
    'spec.nodeName': path('spec', 'nodeName'),
    'spec.restartPolicy': path('spec', 'restartPolicy'),
    'spec.schedulerName': path('spec', 'schedulerName'),
    'spec.serviceAccountName': path('spec', 'serviceAccountName'),
    'spec.hostNetwork': boolPath('spec', 'hostNetwork'),
    'status.phase': path('status', 'phase'),
    'status.podIP': path('status', 'podIP'),
    'status.nominatedNodeName': path('status', 'nominatedNodeName'),
  },
  nodes: { 'spec.unschedulable': boolPath('spec', 'unschedulable') },
  namespaces: { 'status.phase': path('status', 'phase') },
  secrets: { type: path('type') },
  services: { 'spec.clusterIP': path('spec', 'clusterIP'), 'spec.type': path('spec', 'type') },
  replicasets: { 'status.replicas': path('status', 'replicas') },
  jobs: { 'status.successful': path('status', 'succeeded') },
  events: {
    'involvedObject.kind': path('involvedObject', 'kind'),
    'involvedObject.namespace': path('involvedObject', 'namespace'),
    'involvedObject.name': path('involvedObject', 'name'),
    'involvedObject.uid': path('involvedObject', 'uid'),
    'involvedObject.apiVersion': path('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': path('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': path('involvedObject', 'fieldPath'),
    reason: path('reason'),
    reportingComponent: path('reportingComponent'),
    source: path('source', 'component'),
    type: path('type'),
  },
};

function fieldGetter(resource: string, field: string): FieldGetter | undefined {
  return commonFields[field] ?? kindFields[resource]?.[field];
}

/** Splits on unescaped `sep`; `\` escapes `\`, `,`, `=` and `!` as in fields.ParseSelector. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\' && i + 1 < s.length) { cur += c + (s[i + 1] ?? ''); i++; continue; }
    if (c === ',') { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

function unescape(s: string): SelectorResult<string> {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c !== '\\') { out += c; continue; }
    const n = s[i + 1];
    if (n === undefined || !'\\,=!'.includes(n)) return { ok: false, error: `invalid escape sequence in field selector value: ${s}` };
    out += n;
    i++;
  }
  return { ok: true, value: out };
}

/**
 * Parses `metadata.name=x,status.phase!=Running` for one resource (plural, e.g. "pods").
 * Unknown fields fail with Kubernetes' "field label not supported: <field>".
 */
export function parseFieldSelector(selector: string, resource: string): SelectorResult<FieldRequirement[]> {
  if (selector.length > maxSelectorLengthChars) return { ok: false, error: `field selector longer than ${maxSelectorLengthChars} characters` };
  if (selector.trim() === '') return { ok: true, value: [] };
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(selector)) {
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (m === null) return { ok: false, error: `invalid selector: '${selector}'; can't understand '${term}'` };
    const field = (m[1] ?? '').trim();
    const value = unescape(m[3] ?? '');
    if (!value.ok) return value;
    if (fieldGetter(resource, field) === undefined) return { ok: false, error: `field label not supported: ${field}` };
    reqs.push({ field, operator: m[2] === '!=' ? 'NotEquals' : 'Equals', value: value.value });
  }
  return { ok: true, value: reqs };
}

export function matchesFields(reqs: readonly FieldRequirement[], resource: string, obj: JsonObject): boolean {
  return reqs.every((r) => {
    const get = fieldGetter(resource, r.field);
    if (get === undefined) throw new Error(`unvalidated field selector ${r.field} for ${resource}`);
    const v = get(obj);
    return r.operator === 'Equals' ? v === r.value : v !== r.value;
  });
}

/** Supported field labels for a resource (for error messages and docs). */
export function supportedFieldLabels(resource: string): string[] {
  return [...Object.keys(commonFields), ...Object.keys(kindFields[resource] ?? {})];
}
