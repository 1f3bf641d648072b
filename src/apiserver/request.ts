/**
 * Request decoding shared by the REST handlers: bodies, type checks against the URL, query options
 * (selectors, dryRun, fieldManager, fieldValidation), and the JSON responses.
 */
import {
  asRecord, asString, badRequest, decodeBody, isRecord, joinApiVersion, type JsonObject, matchesFields,
  matchesLabels, parseFieldSelector, parseLabelSelector, type ResourceInfo, type Status, strictDecodingError,
  prunedFields, unknownFields, unsupportedMediaType,
} from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import { decodeProtobufObject, protobufMediaType } from './protobuf.js';
import { failOf, okOf, type Outcome } from './storage.js';

const jsonType = 'application/json';

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): ApiResponse {
  return { status, contentType: jsonType, body, ...(headers ? { headers } : {}) };
}

export function statusResponse(s: Status): ApiResponse {
  return jsonResponse(s.code, s);
}

export function successStatus(code: number, details?: JsonObject): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code, ...(details ? { details } : {}) };
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Body media types decoded here (JSON also when no Content-Type is sent); patch types are routed separately. */
const acceptedBodyTypes: readonly string[] = ['application/json', 'application/yaml'];
const decodableTypes = new Set(['', 'application/json', 'application/yaml', 'application/x-yaml', 'text/plain', 'application/octet-stream',
  'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']);

function isProtobuf(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === protobufMediaType;
}

/** 415 for bodies in a format this server does not speak (protobuf, CBOR). */
function checkBodyType(contentType: string | undefined): Outcome<true> {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return decodableTypes.has(base) ? okOf(true) : failOf(unsupportedMediaType(contentType ?? '', acceptedBodyTypes));
}

/** The body as text; invalid UTF-8 is a 400. */
function bodyText(body: Uint8Array | undefined): Outcome<string> {
  if (body === undefined || body.length === 0) return okOf('');
  try {
    return okOf(textDecoder.decode(body));
  } catch {
    return failOf(badRequest('the request body is not valid UTF-8'));
  }
}

/** Decodes a JSON (or YAML, by Content-Type) object body. */
export function decodeObjectBody(body: Uint8Array | undefined, contentType: string | undefined): Outcome<JsonObject> {
  if (isProtobuf(contentType)) return body === undefined ? failOf(badRequest('the request body is empty')) : decodeProtobufObject(body);
  const type = checkBodyType(contentType);
  if (!type.ok) return type;
  const text = bodyText(body);
  if (!text.ok) return text;
  if (text.value.trim() === '') return failOf(badRequest('the request body is empty'));
  const decoded = decodeBody(text.value, contentType);
  if (!decoded.ok) return failOf(badRequest(decoded.message));
  if (!isRecord(decoded.value)) return failOf(badRequest('the request body must be a JSON object'));
  return okOf(decoded.value);
}

/** Any JSON value (patch documents, DeleteOptions); empty → undefined. */
export function decodeAnyBody(body: Uint8Array | undefined, contentType: string | undefined): Outcome<unknown> {
  if (body !== undefined && body.length > 0) {
    const type = checkBodyType(contentType);
    if (!type.ok) return type;
  }
  const text = bodyText(body);
  if (!text.ok) return text;
  if (text.value.trim() === '') return okOf(undefined);
  const decoded = decodeBody(text.value, contentType);
  return decoded.ok ? okOf(decoded.value) : failOf(badRequest(decoded.message));
}

/**
 * The body must be the URL's kind in the URL's group-version (missing apiVersion/kind are filled in),
 * with the URL's name and namespace if it names them.
 */
export function checkTypeAndIdentity(info: ResourceInfo, obj: JsonObject, url: { namespace?: string; name?: string }, expectKind = info.kind,
  expectApiVersion = joinApiVersion(info.group, info.version)): Outcome<JsonObject> {
  const apiVersion = obj['apiVersion'];
  const kind = obj['kind'];
  if (apiVersion !== undefined && apiVersion !== expectApiVersion) {
    return failOf(badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${expectApiVersion})`));
  }
  if (kind !== undefined && kind !== expectKind) {
    return failOf(badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${expectKind})`));
  }
  const meta = obj['metadata'];
  if (meta !== undefined && meta !== null && !isRecord(meta)) return failOf(badRequest('metadata must be an object'));
  const m = asRecord(meta) ?? {};
  const name = asString(m['name']);
  if (url.name !== undefined && name !== undefined && name !== '' && name !== url.name) {
    return failOf(badRequest(`the name of the object (${name}) does not match the name on the URL (${url.name})`));
  }
  const ns = asString(m['namespace']);
  if (info.namespaced && url.namespace !== undefined && ns !== undefined && ns !== '' && ns !== url.namespace) {
    return failOf(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
  }
  const filledMeta: JsonObject = { ...m };
  if (url.name !== undefined && (name === undefined || name === '')) filledMeta['name'] = url.name;
  if (!info.namespaced) delete filledMeta['namespace'];
  return okOf({ ...obj, apiVersion: expectApiVersion, kind: expectKind, metadata: filledMeta });
}

export function strictCheck(query: Readonly<Record<string, string>>, obj: JsonObject, info?: ResourceInfo): Outcome<true> {
  const mode = query['fieldValidation'];
  if (mode !== undefined && mode !== '' && mode !== 'Strict' && mode !== 'Warn' && mode !== 'Ignore') {
    return failOf(badRequest(`fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`));
  }
  if (mode !== 'Strict') return okOf(true);
  // A custom resource's fields are its CRD schema's: unknown ones are those pruning would drop.
  const unknown = info?.custom === undefined ? unknownFields(obj) : prunedFields(info.custom.schema, obj);
  return unknown.length === 0 ? okOf(true) : failOf(strictDecodingError(unknown));
}

export function dryRunOf(query: Readonly<Record<string, string>>): Outcome<boolean> {
  const v = query['dryRun'];
  if (v === undefined || v === '') return okOf(false);
  if (v === 'All') return okOf(true);
  return failOf(badRequest(`Invalid dry run value: ${JSON.stringify(v)}: supported values: "All"`));
}

/** fieldManager, else the User-Agent's program name, as kube-apiserver derives it. */
export function managerOf(query: Readonly<Record<string, string>>, headers: Readonly<Record<string, string>>): Outcome<string> {
  const m = query['fieldManager'];
  if (m !== undefined) {
    if (m.length > 128) return failOf(badRequest('fieldManager: Too long: may not be more than 128 bytes'));
    return okOf(m);
  }
  const ua = headers['user-agent'] ?? '';
  const prog = ua.split('/')[0] ?? '';
  return okOf(prog === '' ? 'unknown' : prog.slice(0, 128));
}

/** A list/watch filter from labelSelector and fieldSelector (namespace scoping is done by key prefix). */
export type ObjectFilter = (obj: JsonObject) => boolean;

export function filterOf(info: ResourceInfo, query: Readonly<Record<string, string>>): Outcome<ObjectFilter> {
  const labels = parseLabelSelector(query['labelSelector'] ?? '');
  if (!labels.ok) return failOf(badRequest(labels.error));
  const fields = parseFieldSelector(query['fieldSelector'] ?? '', info.resource);
  if (!fields.ok) return failOf(badRequest(fields.error));
  const l = labels.value;
  const f = fields.value;
  if (l.length === 0 && f.length === 0) return okOf(() => true);
  return okOf((obj) => matchesLabels(l, asRecord(asRecord(obj['metadata'])?.['labels']) as Record<string, string> | undefined)
    && matchesFields(f, info.resource, obj));
}

export function isTruthyParam(v: string | undefined): boolean {
  return v === 'true' || v === '1' || v === 'True' || v === 'TRUE' || v === 't';
}
