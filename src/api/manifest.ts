/**
 * Decoding of manifests (multi-document YAML or JSON) and request bodies into plain objects, with
 * typed errors instead of exceptions.
 */
import { parseAllDocuments } from 'yaml';
import { asArray, exceedsDepth, isRecord, type JsonObject } from './types.js';

/** Same bound as kube-apiserver's default request body limit. */
export const maxManifestBytes = 3 * 1024 * 1024;
export const maxManifestDocuments = 1000;
/** Bounds YAML alias expansion ("billion laughs"). */
export const maxYamlAliasCount = 100;
/** Objects nest a few dozen levels at most; deeper bodies are rejected before any recursive code sees them. */
export const maxBodyDepth = 200;

export type ManifestError =
  | { kind: 'TooLarge'; message: string }
  | { kind: 'TooManyDocuments'; message: string }
  | { kind: 'Syntax'; document: number; line?: number; column?: number; message: string }
  | { kind: 'NotAnObject'; document: number; message: string }
  | { kind: 'MissingField'; document: number; field: 'apiVersion' | 'kind'; message: string };

export type ManifestResult = { ok: true; objects: JsonObject[] } | { ok: false; error: ManifestError };

function checkTypeMeta(o: JsonObject, document: number): ManifestError | undefined {
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '') {
      return { kind: 'MissingField', document, field, message: `error validating data: ${field} not set` };
    }
  }
  return undefined;
}

/**
 * Every object in a YAML/JSON stream. Empty documents are skipped; `kind: List` (and any
 * `<Kind>List` with items) is flattened into its items, as kubectl does.
 */
export function decodeManifests(text: string): ManifestResult {
  if (text.length > maxManifestBytes) return { ok: false, error: { kind: 'TooLarge', message: `manifest larger than ${maxManifestBytes} bytes` } };
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > maxManifestDocuments) return { ok: false, error: { kind: 'TooManyDocuments', message: `more than ${maxManifestDocuments} documents` } };
  const objects: JsonObject[] = [];
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    if (doc === undefined) continue;
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      const e: ManifestError = { kind: 'Syntax', document: i, message: err.message };
      if (pos !== undefined) {
        e.line = pos.line;
        e.column = pos.col;
      }
      return { ok: false, error: e };
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: maxYamlAliasCount });
    } catch (ex) {
      return { ok: false, error: { kind: 'Syntax', document: i, message: (ex as Error).message } };
    }
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) return { ok: false, error: { kind: 'NotAnObject', document: i, message: `document ${i} is not an object` } };
    const missing = checkTypeMeta(value, i);
    if (missing !== undefined) return { ok: false, error: missing };
    if (typeof value['kind'] === 'string' && value['kind'].endsWith('List') && Array.isArray(value['items'])) {
      for (const item of asArray(value['items'])) {
        if (!isRecord(item)) return { ok: false, error: { kind: 'NotAnObject', document: i, message: `an item of document ${i} is not an object` } };
        const m = checkTypeMeta(item, i);
        if (m !== undefined) return { ok: false, error: m };
        objects.push(item);
      }
    } else {
      objects.push(value);
    }
  }
  return { ok: true, objects };
}

export type BodyResult = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * One request body: JSON (also when the Content-Type is missing, as `kubectl create namespace`
 * sends it) or YAML for `application/yaml` and `application/apply-patch+yaml`.
 */
export function decodeBody(text: string, contentType: string | undefined): BodyResult {
  if (text.length > maxManifestBytes) return { ok: false, message: `Request entity too large: limit is ${maxManifestBytes}` };
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const yamlish = base === 'application/yaml' || base === 'application/apply-patch+yaml' || base === 'application/x-yaml';
  let r: BodyResult;
  try {
    r = { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    if (!yamlish) return { ok: false, message: `couldn't get version/kind; json parse error: ${(e as Error).message}` };
    r = decodeYamlDocument(text);
  }
  if (r.ok && exceedsDepth(r.value, maxBodyDepth)) return { ok: false, message: `request body nests deeper than ${maxBodyDepth} levels` };
  return r;
}

function decodeYamlDocument(text: string): BodyResult {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const nonEmpty = list.filter((d) => d.contents !== null);
  if (nonEmpty.length !== 1) return { ok: false, message: `expected exactly one YAML document, got ${nonEmpty.length}` };
  const doc = nonEmpty[0];
  if (doc === undefined) return { ok: false, message: 'empty body' };
  const err = doc.errors[0];
  if (err !== undefined) return { ok: false, message: `error converting YAML to JSON: ${err.message}` };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: maxYamlAliasCount }) as unknown };
  } catch (e) {
    return { ok: false, message: `error converting YAML to JSON: ${(e as Error).message}` };
  }
}
