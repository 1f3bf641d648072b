/**
 * Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), for the
 * few kinds the installed kubectl 1.32 sends that way through its typed clients: `kubectl create
 * namespace|configmap|secret|serviceaccount|deployment|job|service`, drain's Eviction and `auth can-i`'s
 * SelfSubjectAccessReview (only the fields those generators set: others must be empty). The envelope is `k8s\0` +
 * runtime.Unknown{typeMeta, raw}; `raw` is decoded with a field-number schema per kind.
 *
 * Decoding is strict: a field this schema does not know is refused (415), never silently dropped.
 * Other kinds answer 415 with that explanation.
 */
import { badRequest, type JsonObject, type Status, unsupportedMediaType } from '../api/index.js';
import { failOf, okOf, type Outcome } from './storage.js';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';
const magic = [0x6b, 0x38, 0x73, 0x00];
/** Nesting bound for hostile inputs. */
export const maxProtobufDepth = 16;

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'skip' | 'intOrString' | Schema | { map: 'string' | 'bytes' };
/** `keep`: a pointer field in Go, where 0/false was set on purpose; other zero numbers and false are omitted, as JSON's omitempty does. */
interface Field { readonly name: string; readonly type: FieldType; readonly repeated?: boolean; readonly keep?: boolean }
type Schema = { readonly [field: number]: Field };

const objectMeta: Schema = {
  1: { name: 'name', type: 'string' }, 2: { name: 'generateName', type: 'string' }, 3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'skip' }, 5: { name: 'uid', type: 'string' }, 6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'skip' }, 8: { name: 'creationTimestamp', type: 'skip' },
  11: { name: 'labels', type: { map: 'string' } }, 12: { name: 'annotations', type: { map: 'string' } },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const labelSelector: Schema = {
  1: { name: 'matchLabels', type: { map: 'string' } },
  2: { name: 'matchExpressions', repeated: true, type: { 1: { name: 'key', type: 'string' }, 2: { name: 'operator', type: 'string' }, 3: { name: 'values', type: 'string', repeated: true } } },
};
const container: Schema = {
  1: { name: 'name', type: 'string' }, 2: { name: 'image', type: 'string' }, 3: { name: 'command', type: 'string', repeated: true },
  4: { name: 'args', type: 'string', repeated: true }, 5: { name: 'workingDir', type: 'string' },
  6: { name: 'ports', repeated: true, type: {
    1: { name: 'name', type: 'string' }, 2: { name: 'hostPort', type: 'int' }, 3: { name: 'containerPort', type: 'int' },
    4: { name: 'protocol', type: 'string' }, 5: { name: 'hostIP', type: 'string' },
  } },
  7: { name: 'env', repeated: true, type: { 1: { name: 'name', type: 'string' }, 2: { name: 'value', type: 'string' } } },
  13: { name: 'terminationMessagePath', type: 'string' }, 14: { name: 'imagePullPolicy', type: 'string' },
  16: { name: 'stdin', type: 'bool' }, 17: { name: 'stdinOnce', type: 'bool' }, 18: { name: 'tty', type: 'bool' },
  20: { name: 'terminationMessagePolicy', type: 'string' },
};
const podTemplate: Schema = {
  1: { name: 'metadata', type: objectMeta },
  2: { name: 'spec', type: {
    2: { name: 'containers', type: container, repeated: true }, 3: { name: 'restartPolicy', type: 'string' },
    4: { name: 'terminationGracePeriodSeconds', type: 'int', keep: true }, 6: { name: 'dnsPolicy', type: 'string' },
    7: { name: 'nodeSelector', type: { map: 'string' } }, 8: { name: 'serviceAccountName', type: 'string' }, 10: { name: 'nodeName', type: 'string' },
    11: { name: 'hostNetwork', type: 'bool' }, 12: { name: 'hostPID', type: 'bool' }, 13: { name: 'hostIPC', type: 'bool' },
    19: { name: 'schedulerName', type: 'string' }, 20: { name: 'initContainers', type: container, repeated: true },
  } },
};

const schemas: Readonly<Record<string, Schema>> = {
  'apps/v1/Deployment': {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: {
      1: { name: 'replicas', type: 'int', keep: true }, 2: { name: 'selector', type: labelSelector }, 3: { name: 'template', type: podTemplate },
      4: { name: 'strategy', type: { 1: { name: 'type', type: 'string' } } }, 5: { name: 'minReadySeconds', type: 'int' },
      6: { name: 'revisionHistoryLimit', type: 'int', keep: true }, 7: { name: 'paused', type: 'bool' }, 9: { name: 'progressDeadlineSeconds', type: 'int', keep: true },
    } },
    3: { name: 'status', type: 'skip' },
  },
  'batch/v1/Job': {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: {
      1: { name: 'parallelism', type: 'int', keep: true }, 2: { name: 'completions', type: 'int', keep: true }, 3: { name: 'activeDeadlineSeconds', type: 'int', keep: true },
      4: { name: 'selector', type: labelSelector }, 5: { name: 'manualSelector', type: 'bool', keep: true }, 6: { name: 'template', type: podTemplate },
      7: { name: 'backoffLimit', type: 'int', keep: true }, 8: { name: 'ttlSecondsAfterFinished', type: 'int', keep: true }, 9: { name: 'completionMode', type: 'string' },
      10: { name: 'suspend', type: 'bool', keep: true },
    } },
    3: { name: 'status', type: 'skip' },
  },
  'v1/Service': {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: {
      1: { name: 'ports', repeated: true, type: {
        1: { name: 'name', type: 'string' }, 2: { name: 'protocol', type: 'string' }, 3: { name: 'port', type: 'int' },
        4: { name: 'targetPort', type: 'intOrString' }, 5: { name: 'nodePort', type: 'int' },
      } },
      2: { name: 'selector', type: { map: 'string' } }, 3: { name: 'clusterIP', type: 'string' }, 4: { name: 'type', type: 'string' },
      10: { name: 'externalName', type: 'string' },
    } },
    3: { name: 'status', type: 'skip' },
  },
  'v1/Namespace': { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } }, 3: { name: 'status', type: 'skip' } },
  'v1/ConfigMap': { 1: { name: 'metadata', type: objectMeta }, 2: { name: 'data', type: { map: 'string' } }, 3: { name: 'binaryData', type: { map: 'bytes' } }, 4: { name: 'immutable', type: 'bool', keep: true } },
  'v1/Secret': {
    1: { name: 'metadata', type: objectMeta }, 2: { name: 'data', type: { map: 'bytes' } }, 3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } }, 5: { name: 'immutable', type: 'bool', keep: true },
  },
  'v1/ServiceAccount': { 1: { name: 'metadata', type: objectMeta } },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: {
      1: { name: 'resourceAttributes', type: {
        1: { name: 'namespace', type: 'string' }, 2: { name: 'verb', type: 'string' }, 3: { name: 'group', type: 'string' },
        4: { name: 'version', type: 'string' }, 5: { name: 'resource', type: 'string' }, 6: { name: 'subresource', type: 'string' },
        7: { name: 'name', type: 'string' },
      } },
      2: { name: 'nonResourceAttributes', type: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } } },
    } },
    3: { name: 'status', type: 'skip' },
  },
  'policy/v1/Eviction': {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'deleteOptions', type: {
      1: { name: 'gracePeriodSeconds', type: 'int', keep: true },
      2: { name: 'preconditions', type: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } },
      3: { name: 'orphanDependents', type: 'bool', keep: true }, 4: { name: 'propagationPolicy', type: 'string' },
      5: { name: 'dryRun', type: 'string', repeated: true },
    } },
  },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean { return this.pos >= this.buf.length; }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

class UnknownField extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeMessage(buf: Uint8Array, schema: Schema, depth: number): JsonObject {
  if (depth > maxProtobufDepth) throw new Error('message nesting too deep');
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (!r.done) {
    const key = r.varint();
    const num = Math.floor(key / 8);
    const wire = key % 8;
    const field = schema[num];
    if (field === undefined) {
      // Go's proto marshalling writes every non-pointer field, empty or not: only a value we would lose is an error.
      if (wire === 0 && r.varint() === 0) continue;
      if (wire === 2 && r.bytes().length === 0) continue;
      throw new UnknownField(`field ${num}`);
    }
    if (field.type === 'skip') { r.skip(wire); continue; }
    const value = decodeValue(r, wire, field.type, depth);
    if (typeof field.type === 'object' && 'map' in field.type) {
      const [k, v] = value as [string, unknown];
      out[field.name] = { ...((out[field.name] as JsonObject | undefined) ?? {}), [k]: v };
    } else if (field.repeated === true) {
      out[field.name] = [...((out[field.name] as unknown[] | undefined) ?? []), value];
    } else if (value !== '' && (field.keep === true || (value !== 0 && value !== false))) {
      out[field.name] = value;
    }
  }
  return out;
}

function decodeValue(r: Reader, wire: number, type: Exclude<FieldType, 'skip'>, depth: number): unknown {
  if (type === 'int' || type === 'bool') {
    if (wire !== 0) throw new Error('expected a varint');
    const n = r.varint();
    return type === 'bool' ? n !== 0 : n;
  }
  if (wire !== 2) throw new Error('expected a length-delimited field');
  const bytes = r.bytes();
  if (type === 'intOrString') {
    const v = decodeMessage(bytes, { 1: { name: 'type', type: 'int' }, 2: { name: 'intVal', type: 'int' }, 3: { name: 'strVal', type: 'string' } }, depth + 1);
    return v['type'] === 1 ? (v['strVal'] ?? '') : (v['intVal'] ?? 0);
  }
  if (type === 'string') return utf8.decode(bytes);
  if (type === 'bytes') return Buffer.from(bytes).toString('base64');
  if ('map' in type) {
    const entry = decodeMessage(bytes, { 1: { name: 'k', type: 'string' }, 2: { name: 'v', type: type.map } }, depth + 1);
    return [String(entry['k'] ?? ''), entry['v'] ?? (type.map === 'bytes' ? '' : '')];
  }
  return decodeMessage(bytes, type, depth + 1);
}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeProtobufObject(body: Uint8Array): Outcome<JsonObject> {
  if (body.length < magic.length || magic.some((b, i) => body[i] !== b)) return failOf(badRequest('protobuf body without the k8s envelope'));
  let envelope: JsonObject;
  try {
    envelope = decodeMessage(body.subarray(magic.length), {
      1: { name: 'typeMeta', type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
      2: { name: 'raw', type: 'bytes' }, 3: { name: 'contentEncoding', type: 'string' }, 4: { name: 'contentType', type: 'string' },
    }, 0);
  } catch (e) {
    return failOf(badRequest(`malformed protobuf envelope: ${(e as Error).message}`));
  }
  const tm = (envelope['typeMeta'] ?? {}) as JsonObject;
  const apiVersion = String(tm['apiVersion'] ?? '');
  const kind = String(tm['kind'] ?? '');
  const schema = schemas[`${apiVersion}/${kind}`];
  if (schema === undefined) return failOf(unsupported(`protobuf bodies for ${apiVersion} ${kind} are not supported; send JSON`));
  try {
    const raw = Buffer.from(String(envelope['raw'] ?? ''), 'base64');
    return okOf({ apiVersion, kind, ...decodeMessage(raw, schema, 0) });
  } catch (e) {
    if (e instanceof UnknownField) return failOf(unsupported(`protobuf ${kind} with a field this server does not decode (${e.message}); send JSON`));
    return failOf(badRequest(`malformed protobuf ${kind}: ${(e as Error).message}`));
  }
}

function unsupported(why: string): Status {
  const s = unsupportedMediaType(protobufMediaType, ['application/json', 'application/yaml']);
  return { ...s, message: `${s.message} (${why})` };
}
