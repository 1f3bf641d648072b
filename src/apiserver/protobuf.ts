/**
 * Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which
 * kubectl's typed clients send for built-in kinds (`kubectl create role|deployment|token|...`).
 * The envelope is `k8s\0` + runtime.Unknown{typeMeta, raw}; `raw` is the kind's message.
 *
 * The schemas are upstream's generated.proto files, trimmed to the served kinds (src/apiserver/proto,
 * written by tools/k8s-protos.mjs) and read by protobufjs; this module is one generic decoder over
 * them that yields the JSON the JSON path would: JSON names (`pk.json`, `pk.inline`), zero scalars
 * dropped unless `pk.keep_zero`, and the custom JSON forms of Time/MicroTime (RFC 3339), Quantity
 * (string), IntOrString, RawExtension/FieldsV1 (embedded JSON), bytes (base64), list wrappers
 * (`ExtraValue`) and maps.
 *
 * Decoding is strict: a field the schema does not know is refused (415), never silently dropped.
 * A kind without a schema answers 415 too. Responses stay JSON (clients accept it).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { badRequest, type JsonObject, type Status, unsupportedMediaType } from '../api/index.js';
import { failOf, okOf, type Outcome } from './storage.js';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';
const magic = [0x6b, 0x38, 0x73, 0x00];
/** Nesting bound for hostile inputs (a CronJob's container probe is about 12 deep). */
const maxProtobufDepth = 32;

/** Where the .proto files are: beside this module in src/, copied beside the bundle chunks in dist/ by tools/build.mjs. */
const protoDir = new URL('./proto/', import.meta.url);

let loaded: protobuf.Root | undefined;

/** The schemas, parsed on the first protobuf body (most clients never send one). */
export function protobufSchemas(): protobuf.Root {
  if (loaded !== undefined) return loaded;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => fileURLToPath(new URL(target, protoDir));
  const files = (readdirSync(fileURLToPath(protoDir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.proto')).map((f) => f.split('\\').join('/')).sort();
  if (files.length === 0) throw new Error(`no .proto files under ${fileURLToPath(protoDir)}`);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  loaded = root;
  return root;
}

/** The proto package of an API group-version, as upstream names it (Go package = first label of the group). */
function protoPackageOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === '') return `k8s.io.api.core.${version}`;
  if (group === 'apiregistration.k8s.io') return `k8s.io.kube_aggregator.pkg.apis.apiregistration.${version}`;
  if (group === 'metrics.k8s.io') return `k8s.io.metrics.pkg.apis.metrics.${version}`;
  return `k8s.io.api.${group.split('.')[0] ?? ''}.${version}`;
}

/** The message of one kind, or undefined when no schema describes it. */
export function protobufTypeOf(apiVersion: string, kind: string): protobuf.Type | undefined {
  if (!/^[A-Za-z0-9.]+$/.test(kind) || !/^[a-z0-9./-]+$/.test(apiVersion)) return undefined;
  const found = protobufSchemas().lookup(`${protoPackageOf(apiVersion)}.${kind}`);
  return found instanceof protobuf.Type ? found : undefined;
}

class UnknownField extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const metaV1 = 'k8s.io.apimachinery.pkg.apis.meta.v1';

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean { return this.pos >= this.buf.length; }
  /** A varint as a BigInt (int64/uint64 need all 64 bits). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('varint too long');
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  fixed(n: 4 | 8): DataView {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }
}

const varintTypes = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);

function scalarOf(r: Reader, wire: number, type: string): unknown {
  if (varintTypes.has(type)) {
    if (wire !== 0) throw new Error(`expected a varint for ${type}`);
    const v = r.varint();
    switch (type) {
      case 'bool': return v !== 0n;
      case 'int32': return Number(BigInt.asIntN(32, v));
      case 'int64': return safe(BigInt.asIntN(64, v));
      case 'uint32': return Number(BigInt.asUintN(32, v));
      case 'uint64': return safe(BigInt.asUintN(64, v));
      case 'sint32': case 'sint64': return safe((v >> 1n) ^ -(v & 1n));
      default: throw new Error(`scalar type ${type}`);
    }
  }
  if (type === 'double') {
    if (wire !== 1) throw new Error('expected a 64-bit double');
    return r.fixed(8).getFloat64(0, true);
  }
  if (type === 'float') {
    if (wire !== 5) throw new Error('expected a 32-bit float');
    return r.fixed(4).getFloat32(0, true);
  }
  if (wire !== 2) throw new Error(`expected a length-delimited ${type}`);
  const bytes = r.bytes();
  if (type === 'string') return utf8.decode(bytes);
  if (type === 'bytes') return Buffer.from(bytes).toString('base64');
  throw new Error(`scalar type ${type}`);
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error('integer beyond 2^53');
  return Number(v);
}

const isZero = (v: unknown): boolean => v === '' || v === 0 || v === false;

/** The wire fields of one message by field, values already in JSON form (repeated ones as arrays). */
function decodeFields(type: protobuf.Type, buf: Uint8Array, depth: number): Map<protobuf.Field, unknown> {
  if (depth > maxProtobufDepth) throw new Error('message nesting too deep');
  const r = new Reader(buf);
  const out = new Map<protobuf.Field, unknown>();
  while (!r.done) {
    const key = r.varint();
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    const field = type.fieldsById[num];
    if (field === undefined) throw new UnknownField(`${type.name} field ${num}`);
    if (field instanceof protobuf.MapField) {
      const entry = entryOf(field, r, wire, depth);
      out.set(field, { ...((out.get(field) as JsonObject | undefined) ?? {}), [entry[0]]: entry[1] });
    } else if (field.repeated) {
      const list = (out.get(field) as unknown[] | undefined) ?? [];
      if (wire === 2 && field.resolvedType === null && field.type !== 'string' && field.type !== 'bytes') {
        // Packed scalars: one length-delimited run of values.
        const packed = new Reader(r.bytes());
        const inner = field.type === 'double' ? 1 : field.type === 'float' ? 5 : 0;
        while (!packed.done) list.push(scalarOf(packed, inner, field.type));
      } else {
        const v = valueOf(field, r, wire, depth);
        list.push(v === undefined ? null : v);
      }
      out.set(field, list);
    } else {
      out.set(field, valueOf(field, r, wire, depth));
    }
  }
  return out;
}

function entryOf(field: protobuf.MapField, r: Reader, wire: number, depth: number): [string, unknown] {
  if (wire !== 2) throw new Error(`expected a map entry for ${field.name}`);
  const e = new Reader(r.bytes());
  let k = '';
  let v: unknown;
  while (!e.done) {
    const key = e.varint();
    const num = Number(key >> 3n);
    const w = Number(key & 7n);
    if (num === 1) k = String(scalarOf(e, w, field.keyType));
    else if (num === 2) v = field.resolvedType === null ? scalarOf(e, w, field.type) : messageOf(field.resolvedType as protobuf.Type, e, w, depth);
    else throw new UnknownField(`${field.name} map entry field ${num}`);
  }
  // An absent value is the value type's zero, as in Go.
  if (v === undefined) v = field.resolvedType === null ? (field.type === 'string' || field.type === 'bytes' ? '' : 0) : {};
  return [k, v];
}

function valueOf(field: protobuf.Field, r: Reader, wire: number, depth: number): unknown {
  const t = field.resolvedType;
  if (t === null) return scalarOf(r, wire, field.type);
  if (!(t instanceof protobuf.Type)) throw new Error(`${field.name}: enums do not occur in Kubernetes' protos`);
  return messageOf(t, r, wire, depth);
}

function messageOf(t: protobuf.Type, r: Reader, wire: number, depth: number): unknown {
  if (wire !== 2) throw new Error(`expected a length-delimited ${t.name}`);
  return jsonOf(t, r.bytes(), depth + 1);
}

/** One message in its JSON form; undefined for a zero Time (JSON `null`, which we leave out). */
function jsonOf(t: protobuf.Type, buf: Uint8Array, depth: number): unknown {
  const fields = decodeFields(t, buf, depth);
  const get = (name: string): unknown => {
    const f = t.fields[name];
    return f === undefined ? undefined : fields.get(f);
  };
  const special = specialJson(t, get);
  if (special.is) return special.value;
  const out: JsonObject = {};
  for (const [field, value] of fields) {
    const opts = field.options ?? {};
    if (opts['(pk.inline)'] === true) {
      if (value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
      continue;
    }
    if (value === undefined) continue;
    // Zero scalars are dropped unless marked; an int-or-string 0 is a message, kept like every message.
    if (Array.isArray(value) ? value.length === 0 : (field.resolvedType === null && isZero(value) && opts['(pk.keep_zero)'] !== true)) continue;
    const name = typeof opts['(pk.json)'] === 'string' ? opts['(pk.json)'] : field.name;
    out[name] = value;
  }
  return out;
}

type Getter = (name: string) => unknown;

/** Messages whose Go types marshal JSON themselves. */
function specialJson(t: protobuf.Type, get: Getter): { is: false } | { is: true; value: unknown } {
  const full = t.fullName.slice(1);
  switch (full) {
    case `${metaV1}.Time`: return { is: true, value: timeOf(get, false) };
    case `${metaV1}.MicroTime`: return { is: true, value: timeOf(get, true) };
    case `${metaV1}.Duration`: return { is: true, value: goDuration(Number(get('duration') ?? 0)) };
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity': return { is: true, value: String(get('string') ?? '') };
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return { is: true, value: get('type') === 1 ? String(get('strVal') ?? '') : Number(get('intVal') ?? 0) };
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension': return { is: true, value: embeddedJson(get('raw')) };
    case `${metaV1}.FieldsV1`: return { is: true, value: embeddedJson(get('Raw')) };
    default:
      break;
  }
  // Named slices (`type ExtraValue []string`) are a message with one repeated `items`; JSON is the list.
  const only = t.fieldsArray;
  if (only.length === 1 && only[0]!.name === 'items' && only[0]!.id === 1 && only[0]!.repeated) return { is: true, value: get('items') ?? [] };
  return { is: false };
}

function timeOf(get: Getter, micro: boolean): string | undefined {
  const seconds = Number(get('seconds') ?? 0);
  const nanos = Number(get('nanos') ?? 0);
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString();
  // Go: RFC 3339 in UTC; Time drops the fraction, MicroTime keeps microseconds.
  return micro ? `${iso.slice(0, 19)}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso.slice(0, 19)}Z`;
}

/** Go's time.Duration.String(): "1m30s", "1.5s", "500ms", "0s". */
function goDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const sign = nanos < 0 ? '-' : '';
  let n = Math.abs(nanos);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trimZeros(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trimZeros(n / 1e6)}ms`;
  const h = Math.floor(n / 3.6e12);
  n -= h * 3.6e12;
  const m = Math.floor(n / 6e10);
  n -= m * 6e10;
  return `${sign}${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${trimZeros(n / 1e9)}s`;
}

const trimZeros = (x: number): string => x.toFixed(9).replace(/\.?0+$/, '');

function embeddedJson(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw === '') return undefined;
  const text = utf8.decode(Buffer.from(raw, 'base64'));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('embedded raw object is not JSON');
  }
}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeProtobufObject(body: Uint8Array): Outcome<JsonObject> {
  if (body.length < magic.length || magic.some((b, i) => body[i] !== b)) return failOf(badRequest('protobuf body without the k8s envelope'));
  let apiVersion: string;
  let kind: string;
  let raw: Uint8Array;
  try {
    const env = protobufSchemas().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').decode(body.subarray(magic.length)) as unknown as
      { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string };
    apiVersion = env.typeMeta?.apiVersion ?? '';
    kind = env.typeMeta?.kind ?? '';
    raw = env.raw ?? new Uint8Array();
    if ((env.contentEncoding ?? '') !== '') return failOf(unsupported(`protobuf content encoding ${JSON.stringify(env.contentEncoding)} is not supported`));
  } catch (e) {
    return failOf(badRequest(`malformed protobuf envelope: ${(e as Error).message}`));
  }
  const type = protobufTypeOf(apiVersion, kind);
  if (type === undefined) return failOf(unsupported(`no protobuf schema for ${apiVersion} ${kind}; send JSON`));
  try {
    const decoded = jsonOf(type, raw, 0) as JsonObject;
    return okOf({ apiVersion, kind, ...decoded });
  } catch (e) {
    if (e instanceof UnknownField) return failOf(unsupported(`protobuf ${kind} with a field this server does not know (${e.message}); send JSON`));
    return failOf(badRequest(`malformed protobuf ${kind}: ${(e as Error).message}`));
  }
}

function unsupported(why: string): Status {
  const s = unsupportedMediaType(protobufMediaType, ['application/json', 'application/yaml']);
  return { ...s, message: `${s.message} (${why})` };
}
