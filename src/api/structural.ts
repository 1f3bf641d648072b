/**
 * OpenAPI v3 structural schemas of CustomResourceDefinitions: validation with apiextensions'
 * field causes (k8s.io/kube-openapi's validate wording) and pruning of unknown fields, as
 * kube-apiserver does for custom resources before they are stored. Only the structural subset is
 * understood: type, properties, items, additionalProperties, required, enum, bounds, lengths,
 * pattern, item counts, nullable and the x-kubernetes-* extensions that change the walk.
 */
import type { FieldCause } from './status.js';
import { isRecord, type JsonObject } from './types.js';

export interface StructuralSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly items?: StructuralSchema;
  readonly additionalProperties?: StructuralSchema | boolean;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly exclusiveMaximum?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly nullable?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
}

/** Bounds a schema's depth and a value's walk: a hostile CRD must not recurse the apiserver away. */
export const maxSchemaDepth = 64;

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'null' : JSON.stringify(v));

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(type: StructuralSchema['type'], v: unknown): boolean {
  switch (type) {
    case undefined: return true;
    case 'object': return isRecord(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number';
    case 'boolean': return typeof v === 'boolean';
    default: {
      const never: never = type;
      throw new Error(`schema type ${String(never)}`);
    }
  }
}

/** The field causes of `value` against `schema`, paths rooted at `path` ("" for the object itself). */
export function validateStructural(schema: StructuralSchema, value: unknown, path = ''): FieldCause[] {
  const out: FieldCause[] = [];
  walkValidate(schema, value, path, out, 0);
  return out;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

function walkValidate(s: StructuralSchema, v: unknown, path: string, out: FieldCause[], depth: number): void {
  if (depth > maxSchemaDepth) return;
  const field = path === '' ? '<root>' : path;
  if (v === null) {
    if (s.nullable === true || s['x-kubernetes-preserve-unknown-fields'] === true && s.type === undefined) return;
    if (s.type !== undefined) out.push({ type: 'FieldValueTypeInvalid', field, message: `Invalid value: "null": ${field} in body must be of type ${s.type}: "null"` });
    return;
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
      out.push({ type: 'FieldValueTypeInvalid', field, message: `Invalid value: ${show(v)}: ${field} in body must be of type integer,string: "${typeOf(v)}"` });
      return;
    }
  } else if (!typeMatches(s.type, v)) {
    out.push({ type: 'FieldValueTypeInvalid', field, message: `Invalid value: ${show(v)}: ${field} in body must be of type ${s.type ?? ''}: "${typeOf(v)}"` });
    return;
  }
  if (s.enum !== undefined && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    out.push({ type: 'FieldValueNotSupported', field, message: `Unsupported value: ${show(v)}: supported values: ${s.enum.map(show).join(', ')}` });
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum)) {
      out.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${v}: ${field} in body should be greater than ${s.exclusiveMinimum === true ? '' : 'or equal to '}${s.minimum}` });
    }
    if (s.maximum !== undefined && (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum)) {
      out.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${v}: ${field} in body should be less than ${s.exclusiveMaximum === true ? '' : 'or equal to '}${s.maximum}` });
    }
  }
  if (typeof v === 'string') {
    const length = [...v].length;
    if (s.minLength !== undefined && length < s.minLength) {
      out.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${show(v)}: ${field} in body should be at least ${s.minLength} chars long` });
    }
    if (s.maxLength !== undefined && length > s.maxLength) {
      out.push({ type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${s.maxLength} bytes` });
    }
    if (s.pattern !== undefined && !safeRegExp(s.pattern)?.test(v)) {
      out.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${show(v)}: ${field} in body should match '${s.pattern}'` });
    }
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) {
      out.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${v.length}: ${field} in body should have at least ${s.minItems} items` });
    }
    if (s.maxItems !== undefined && v.length > s.maxItems) {
      out.push({ type: 'FieldValueTooMany', field, message: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    }
    if (s.items !== undefined) v.forEach((x, i) => walkValidate(s.items!, x, `${path}[${i}]`, out, depth + 1));
  }
  if (isRecord(v)) {
    for (const r of s.required ?? []) if (!(r in v)) out.push({ type: 'FieldValueRequired', field: join(path, r), message: 'Required value' });
    for (const [k, x] of Object.entries(v)) {
      if (path === '' && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
      const sub = s.properties?.[k] ?? (isRecord(s.additionalProperties) ? s.additionalProperties as StructuralSchema : undefined);
      if (sub !== undefined) walkValidate(sub, x, join(path, k), out, depth + 1);
    }
  }
}

const regexps = new Map<string, RegExp | undefined>();
/** Patterns are ECMA-262 as OpenAPI says; one that does not compile matches nothing (the CRD's validation refuses those). */
function safeRegExp(pattern: string): RegExp | undefined {
  if (!regexps.has(pattern)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = undefined;
    }
    if (regexps.size > 1000) regexps.clear();
    regexps.set(pattern, re);
  }
  return regexps.get(pattern);
}

export function isValidPattern(pattern: string): boolean {
  return safeRegExp(pattern) !== undefined;
}

/**
 * A copy of `value` without the fields `schema` does not specify (apiextensions' pruning). At the
 * root apiVersion, kind and metadata are kept: metadata is the apiserver's, not the schema's.
 */
export function pruneStructural(schema: StructuralSchema, value: JsonObject): JsonObject {
  const pruned = prune(schema, value, 0, true);
  return isRecord(pruned) ? pruned : value;
}

function prune(s: StructuralSchema, v: unknown, depth: number, root = false): unknown {
  if (depth > maxSchemaDepth) return v;
  if (Array.isArray(v)) return s.items === undefined ? v : v.map((x) => prune(s.items!, x, depth + 1));
  if (!isRecord(v)) return v;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) {
      out[k] = x;
      continue;
    }
    if (s['x-kubernetes-embedded-resource'] === true && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) {
      out[k] = x;
      continue;
    }
    const sub = s.properties?.[k] ?? (isRecord(s.additionalProperties) ? s.additionalProperties as StructuralSchema : undefined);
    if (sub !== undefined) out[k] = prune(sub, x, depth + 1);
    else if (preserve || s.additionalProperties === true) out[k] = x;
  }
  return out;
}

/** Problems with a schema itself (the CRD's validation): field paths under `path`. */
export function schemaProblems(raw: unknown, path: string, depth = 0): FieldCause[] {
  const out: FieldCause[] = [];
  if (depth > maxSchemaDepth) return [{ type: 'FieldValueForbidden', field: path, message: `Forbidden: nested deeper than ${maxSchemaDepth}` }];
  if (!isRecord(raw)) return [{ type: 'FieldValueRequired', field: path, message: 'Required value' }];
  const t = raw['type'];
  const types = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
  const intOrString = raw['x-kubernetes-int-or-string'] === true;
  const preserve = raw['x-kubernetes-preserve-unknown-fields'] === true;
  if (t === undefined && !intOrString && !preserve) out.push({ type: 'FieldValueRequired', field: `${path}.type`, message: 'Required value: must not be empty for specified object fields' });
  else if (t !== undefined && !types.includes(t as string)) {
    out.push({ type: 'FieldValueNotSupported', field: `${path}.type`, message: `Unsupported value: ${show(t)}: supported values: ${types.map(show).join(', ')}` });
  }
  if (t === 'array' && raw['items'] === undefined) out.push({ type: 'FieldValueRequired', field: `${path}.items`, message: 'Required value: must be specified' });
  if (typeof raw['pattern'] === 'string' && !isValidPattern(raw['pattern'])) {
    out.push({ type: 'FieldValueInvalid', field: `${path}.pattern`, message: `Invalid value: ${show(raw['pattern'])}: must be a valid regular expression` });
  }
  const props = raw['properties'];
  if (isRecord(props)) for (const [k, p] of Object.entries(props)) out.push(...schemaProblems(p, `${path}.properties[${k}]`, depth + 1));
  if (raw['items'] !== undefined) out.push(...schemaProblems(raw['items'], `${path}.items`, depth + 1));
  if (isRecord(raw['additionalProperties'])) out.push(...schemaProblems(raw['additionalProperties'], `${path}.additionalProperties`, depth + 1));
  return out;
}

/** Fields `schema` does not specify (what pruning drops): fieldValidation=Strict refuses them, sorted. */
export function prunedFields(schema: StructuralSchema, value: JsonObject, limit = 100): string[] {
  const out: string[] = [];
  collectPruned(schema, value, '', out, 0, limit, true);
  return out.sort();
}

function collectPruned(s: StructuralSchema, v: unknown, path: string, out: string[], depth: number, limit: number, root = false): void {
  if (depth > maxSchemaDepth || out.length >= limit) return;
  if (Array.isArray(v)) {
    if (s.items !== undefined) v.forEach((x, i) => collectPruned(s.items!, x, `${path}[${i}]`, out, depth + 1, limit));
    return;
  }
  if (!isRecord(v) || s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true) return;
  const embedded = root || s['x-kubernetes-embedded-resource'] === true;
  for (const [k, x] of Object.entries(v)) {
    if (embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const p = path === '' ? k : `${path}.${k}`;
    const sub = s.properties?.[k] ?? (isRecord(s.additionalProperties) ? s.additionalProperties as StructuralSchema : undefined);
    if (sub === undefined) out.push(p);
    else collectPruned(sub, x, p, out, depth + 1, limit);
  }
}
