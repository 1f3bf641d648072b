/** Protobuf request bodies: JSON → protobufjs encode (from the same .proto files) → our decoder → the same JSON. */
import test from 'ava';
import protobuf from 'protobufjs';
import { resources, joinApiVersion, type JsonObject } from '../../src/api/index.js';
import { decodeProtobufObject, protobufSchemas, protobufTypeOf } from '../../src/apiserver/protobuf.js';
import { kindsServedSoon, protobufSamples } from './protobuf-samples.js';

const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** "1m30s" → nanoseconds (the samples' forms only). */
function goDurationNanos(s: string): number {
  const units: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6 };
  let total = 0;
  for (const [, n, u] of s.matchAll(/([0-9.]+)(ms|h|m|s)/g)) total += Number(n) * units[u!]!;
  return total;
}

/** The inverse of the decoder's JSON mapping, for building test bodies. */
function protoValue(f: protobuf.Field, v: unknown): unknown {
  const t = f.resolvedType;
  if (t === null) return f.type === 'bytes' ? Buffer.from(String(v), 'base64') : v;
  const type = t as protobuf.Type;
  switch (type.fullName.slice(1)) {
    case `${meta}.Time`: case `${meta}.MicroTime`: {
      const ms = Date.parse(String(v));
      const micros = /\.(\d{6})Z$/.exec(String(v));
      return { seconds: Math.floor(ms / 1000), nanos: micros ? Number(micros[1]) * 1000 : 0 };
    }
    case `${meta}.Duration`: return { duration: goDurationNanos(String(v)) };
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity': return { string: v };
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString': return typeof v === 'number' ? { type: 0, intVal: v } : { type: 1, strVal: v };
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension': return { raw: Buffer.from(JSON.stringify(v)) };
    default: break;
  }
  const only = type.fieldsArray;
  if (only.length === 1 && only[0]!.name === 'items') return { items: v };
  return protoObject(type, v as JsonObject);
}

function protoObject(type: protobuf.Type, json: JsonObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const opts = f.options ?? {};
    if (opts['(pk.inline)'] === true) {
      const inner = protoObject(f.resolvedType as protobuf.Type, json);
      if (Object.keys(inner).length > 0) out[f.name] = inner;
      continue;
    }
    const v = json[typeof opts['(pk.json)'] === 'string' ? opts['(pk.json)'] : f.name];
    if (v === undefined) continue;
    if (f instanceof protobuf.MapField) out[f.name] = Object.fromEntries(Object.entries(v as JsonObject).map(([k, x]) => [k, protoValue(f, x)]));
    else if (f.repeated) out[f.name] = (v as unknown[]).map((x) => protoValue(f, x));
    else out[f.name] = protoValue(f, v);
  }
  return out;
}

function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const unknown = protobufSchemas().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...unknown.encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw })).finish()]);
}

function encode(apiVersion: string, kind: string, json: JsonObject): Uint8Array {
  const type = protobufTypeOf(apiVersion, kind);
  if (type === undefined) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return envelope(apiVersion, kind, type.encode(type.fromObject(protoObject(type, json))).finish());
}

/**
 * Served as JSON only: kubectl 1.32 (where tools/k8s-protos.mjs finds the descriptors) has none for
 * apiextensions.k8s.io, and its clients send CRDs as JSON; a protobuf CRD body is 415 like any unknown kind.
 */
const jsonOnlyKinds: ReadonlySet<string> = new Set(['apiextensions.k8s.io/v1 CustomResourceDefinition']);

test('every served kind and every kind served soon has a schema and a sample', (t) => {
  const kinds = [...resources.map((r) => `${joinApiVersion(r.group, r.version)} ${r.kind}`), ...kindsServedSoon].filter((k) => !jsonOnlyKinds.has(k));
  for (const k of jsonOnlyKinds) t.is(protobufTypeOf(...(k.split(' ') as [string, string])), undefined, `${k} has no protobuf schema (415)`);
  for (const k of kinds) {
    const [apiVersion, kind] = k.split(' ') as [string, string];
    t.truthy(protobufTypeOf(apiVersion, kind), `schema for ${k}`);
    t.truthy(protobufSamples[k], `sample for ${k}`);
  }
});

for (const [key, json] of Object.entries(protobufSamples)) {
  test(`round trip: ${key}`, (t) => {
    const [apiVersion, kind] = key.split(' ') as [string, string];
    const decoded = decodeProtobufObject(encode(apiVersion, kind, json));
    t.deepEqual(decoded.ok ? decoded.value : decoded.status, { apiVersion, kind, ...json });
  });
}

test('Go writes zero non-pointer fields: dropped as omitempty drops them; pointer zeros kept', (t) => {
  const type = protobufTypeOf('apps/v1', 'Deployment')!;
  const body = type.encode(type.fromObject({ metadata: { name: 'd', namespace: '' }, spec: { replicas: 0, minReadySeconds: 0, paused: false }, status: {} })).finish();
  const decoded = decodeProtobufObject(envelope('apps/v1', 'Deployment', body));
  t.deepEqual(decoded.ok ? decoded.value : decoded.status, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 0 }, status: {} });
});

test('unknown fields and kinds are 415 with a message; a broken body is 400', (t) => {
  const unknownField = decodeProtobufObject(envelope('v1', 'Namespace', Uint8Array.from([0xa2, 0x06, 0x01, 0x78])));
  t.is(unknownField.ok ? 0 : unknownField.status.code, 415);
  t.regex(unknownField.ok ? '' : unknownField.status.message, /field this server does not know \(Namespace field 100\)/);
  const unknownKind = decodeProtobufObject(envelope('example.com/v1', 'Widget', new Uint8Array()));
  t.is(unknownKind.ok ? 0 : unknownKind.status.code, 415);
  t.regex(unknownKind.ok ? '' : unknownKind.status.message, /no protobuf schema for example.com\/v1 Widget/);
  const broken = decodeProtobufObject(Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x7f]));
  t.is(broken.ok ? 0 : broken.status.code, 400);
});
