// Writes src/apiserver/openapi/definitions.json: OpenAPI v3 schemas (components.schemas, upstream's
// definition names such as io.k8s.api.apps.v1.Deployment) for the kinds pocketkube serves.
//
// Sources, both offline:
//  - structure (fields, JSON names, types, inlined structs): the trimmed upstream protobuf schemas in
//    src/apiserver/proto (tools/k8s-protos.mjs, from kubectl 1.32's own descriptors), so the field
//    set is 1.32's; apiVersion/kind (TypeMeta travels in the protobuf envelope, not the message) are
//    added where the generated client's model has them.
//  - descriptions and required fields: @kubernetes/client-node's generated models (doc comments and
//    `?` of the .d.ts files; generated from upstream's OpenAPI document). Fields whose type is another
//    struct carry no description there (the generator drops it), so they have none here either.
//
//   node tools/openapi-definitions.mjs
//
// apiextensions.k8s.io and SelfSubjectReview have no descriptor in kubectl: see `modelRoots` below.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const protoDir = 'src/apiserver/proto';
const modelsDir = 'node_modules/@kubernetes/client-node/dist/gen/models';
const out = 'src/apiserver/openapi/definitions.json';

const root = new protobuf.Root();
root.resolvePath = (_o, target) => join(protoDir, target);
root.loadSync(readdirSync(protoDir, { recursive: true }).filter((f) => f.endsWith('.proto')).sort(), { keepCase: true });
root.resolveAll();

/** k8s.io.api.apps.v1.Deployment → io.k8s.api.apps.v1.Deployment (kube-aggregator's Go path has a dash). */
const defName = (full) => `io.k8s.${full.slice('k8s.io.'.length)}`.replace('kube_aggregator', 'kube-aggregator');

/** client-node model → { description, props: Map(json → { description, required }) }. */
function model(name) {
  let text;
  try { text = readFileSync(join(modelsDir, `${name}.d.ts`), 'utf8'); } catch { return undefined; }
  const clean = (c) => c.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').replace(/\\(["'\\])/g, '$1').trim();
  const cls = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export declare class/.exec(text);
  const props = new Map();
  const body = text.slice(text.indexOf('export declare class'));
  const re = /(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?'([^']+)'(\?)?:/g;
  for (let m; (m = re.exec(body));) props.set(m[2], { description: m[1] === undefined ? undefined : clean(m[1]), required: m[3] === undefined });
  return { description: cls ? clean(cls[1]) : undefined, props };
}
const groupPrefix = (pkg) => {
  const parts = pkg.split('.');
  const g = parts[parts.length - 2];
  return g.charAt(0).toUpperCase() + g.slice(1);
};
/** client-node model name → definition name, for the models a protobuf message stands for. */
const modelDefs = new Map();
function modelOf(type) {
  const pkg = type.parent.fullName.slice(1);
  const version = pkg.split('.').pop();
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  for (const name of [`${groupPrefix(pkg)}${v}${type.name}`, `${v}${type.name}`]) {
    const m = model(name);
    if (m !== undefined) {
      modelDefs.set(name, defName(type.fullName.slice(1)));
      return m;
    }
  }
  return undefined;
}

/** Messages with a JSON form of their own (apimachinery's custom marshallers), as upstream's OpenAPI has them. */
const special = {
  'k8s.io.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'k8s.io.apimachinery.pkg.apis.meta.v1.Duration': { type: 'string' },
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1': { type: 'object' },
  'k8s.io.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
  'k8s.io.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true },
};
const scalars = {
  string: { type: 'string' }, bool: { type: 'boolean' }, int32: { type: 'integer', format: 'int32' },
  int64: { type: 'integer', format: 'int64' }, uint32: { type: 'integer', format: 'int32' }, uint64: { type: 'integer', format: 'int64' },
  double: { type: 'number', format: 'double' }, float: { type: 'number', format: 'float' }, bytes: { type: 'string', format: 'byte' },
};
const isListWrapper = (t) => t.fieldsArray.length === 1 && t.fieldsArray[0].name === 'items' && t.fieldsArray[0].repeated;
const skip = new Set(['k8s.io.apimachinery.pkg.runtime.Unknown', 'k8s.io.apimachinery.pkg.runtime.TypeMeta']);

const definitions = {};
function valueSchema(field) {
  const t = field.resolvedType;
  if (t === null) return { ...scalars[field.type] };
  const full = t.fullName.slice(1);
  if (isListWrapper(t)) return { type: 'array', items: { ...scalars[t.fieldsArray[0].type] } };
  return { $ref: `#/components/schemas/${defName(full)}` };
}
function collectFields(type, into, required, docs) {
  for (const f of type.fieldsArray) {
    const opts = f.options ?? {};
    if (opts['(pk.inline)'] === true) { collectFields(f.resolvedType, into, required, modelOf(f.resolvedType) ?? docs); continue; }
    const json = typeof opts['(pk.json)'] === 'string' ? opts['(pk.json)'] : f.name;
    let s = f.map ? { type: 'object', additionalProperties: valueSchema(f) } : f.repeated ? { type: 'array', items: valueSchema(f) } : valueSchema(f);
    const doc = docs?.props.get(json);
    if (doc?.description !== undefined && s.$ref === undefined) s = { description: doc.description, ...s };
    if (doc?.required) required.push(json);
    into[json] = s;
  }
}
for (const t of allTypes(root)) {
  const full = t.fullName.slice(1);
  if (skip.has(full) || isListWrapper(t)) continue;
  if (special[full]) { definitions[defName(full)] = special[full]; continue; }
  const docs = modelOf(t);
  const properties = {};
  const required = [];
  for (const tm of ['apiVersion', 'kind']) {
    const d = docs?.props.get(tm);
    if (d !== undefined && !t.fieldsArray.some((f) => f.name === tm)) properties[tm] = { description: d.description, type: 'string' };
  }
  collectFields(t, properties, required, docs);
  definitions[defName(full)] = {
    ...(docs?.description ? { description: docs.description } : {}),
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : 1))),
    ...(required.length > 0 ? { required: required.sort() } : {}),
  };
}
function* allTypes(ns) {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) yield n;
    if (n.nestedArray) yield* allTypes(n);
  }
}
// Served kinds kubectl 1.32 has no protobuf descriptor for: their structure is the generated
// client's (its attributeTypeMap), named in the kind's Go package; types the protobuf pass
// already named keep those names.
const modelRoots = [
  ['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1', 'V1CustomResourceDefinition'],
  ['io.k8s.api.authentication.v1', 'V1SelfSubjectReview'],
];
const clientNode = await import('@kubernetes/client-node');
function modelRef(name, pkg) {
  const known = modelDefs.get(name);
  if (known !== undefined) return `#/components/schemas/${known}`;
  const def = `${pkg}.${name.replace(/^([A-Z][a-z]+)?V\d+((alpha|beta)\d+)?/, '')}`;
  modelDefs.set(name, def);
  fromModel(name, def, pkg);
  return `#/components/schemas/${def}`;
}
function typeSchema(type, format, pkg) {
  const arr = /^Array<(.*)>$/.exec(type);
  if (arr) return { type: 'array', items: typeSchema(arr[1], format, pkg) };
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1], format, pkg) };
  if (type === 'string') return format === '' ? { type: 'string' } : { type: 'string', format };
  if (type === 'number') return format === 'double' ? { type: 'number', format } : { type: 'integer', format: format || 'int64' };
  if (type === 'boolean') return { type: 'boolean' };
  if (type === 'Date') return { type: 'string', format: 'date-time' };
  if (type === 'any') return { 'x-kubernetes-preserve-unknown-fields': true };
  if (type === 'IntOrString') return { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' };
  return { $ref: modelRef(type, pkg) };
}
function fromModel(name, def, pkg) {
  const cls = clientNode[name];
  if (!Array.isArray(cls?.attributeTypeMap)) throw new Error(`no client-node model ${name}`);
  const docs = model(name);
  const properties = {};
  const required = [];
  for (const a of cls.attributeTypeMap) {
    let s = typeSchema(a.type, a.format, pkg);
    const doc = docs?.props.get(a.name);
    if (doc?.description !== undefined && s.$ref === undefined) s = { description: doc.description, ...s };
    if (doc?.required) required.push(a.baseName);
    properties[a.baseName] = s;
  }
  definitions[def] = {
    ...(docs?.description ? { description: docs.description } : {}),
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : 1))),
    ...(required.length > 0 ? { required: required.sort() } : {}),
  };
}
for (const [pkg, name] of modelRoots) modelRef(name, pkg);

const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(out, JSON.stringify({
  comment: 'Generated by tools/openapi-definitions.mjs from src/apiserver/proto (kubectl 1.32 descriptors) and @kubernetes/client-node model docs. Do not edit.',
  definitions: sorted,
}, null, 1) + '\n');
console.log(`${out}: ${Object.keys(sorted).length} definitions`);
