/**
 * `/openapi/v3` and `/openapi/v2`: the served kinds' schemas, in the documents kube-apiserver
 * serves (kube-openapi's handler3: a root listing one document per group-version, each with the
 * group-version's paths and the schemas those reach; a Swagger 2.0 document of everything).
 *
 * Built-in schemas are src/apiserver/openapi/definitions.json (tools/openapi-definitions.mjs);
 * a custom resource's schema is its CRD's structural schema. Paths carry
 * `x-kubernetes-group-version-kind` (kubectl explain finds a resource's kind there) and the PATCH
 * operation's `fieldValidation` parameter (kubectl then leaves validation to the server).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listStrategy, resources as builtinResources, type ResourceInfo } from '../api/index.js';
import { kubernetesVersion } from './discovery.js';

export type Schema = Record<string, unknown>;
interface Gvk { group: string; version: string; kind: string }

const refPrefix = '#/components/schemas/';
/** Beside this module in src/, copied beside the bundle chunks in dist/ by tools/build.mjs. */
const definitionsUrl = new URL('./openapi/definitions.json', import.meta.url);
let builtin: Readonly<Record<string, Schema>> | undefined;

/** The built-in definitions, read on the first OpenAPI request (most clients never ask). */
export function builtinDefinitions(): Readonly<Record<string, Schema>> {
  if (builtin === undefined) {
    const defs = (JSON.parse(readFileSync(fileURLToPath(definitionsUrl), 'utf8')) as { definitions: Record<string, Schema> }).definitions;
    builtin = withPatchStrategies(defs, builtinResources.filter((i) => i.custom === undefined).map((i) => definitionName(i.group, i.version, i.kind)));
  }
  return builtin;
}

const pathDepthMax = 16;

function refOf(schema: Schema | undefined): string | undefined {
  const direct = schema?.['$ref'];
  if (typeof direct === 'string') return direct.startsWith(refPrefix) ? direct.slice(refPrefix.length) : undefined;
  const allOf = schema?.['allOf'];
  return Array.isArray(allOf) ? refOf(allOf[0] as Schema) : undefined;
}

/**
 * Adds `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` to every list property that
 * patch.ts's listStrategy (the server's strategic merge patch) merges, walking each kind from its
 * root the way listStrategy sees paths. kubectl apply builds its patch from these (openapi v3):
 * without them it replaces keyed lists whole, and an unchanged manifest comes back "configured".
 * A property reached by two paths with different strategies is a bug in listStrategy: it throws.
 */
function withPatchStrategies(defs: Record<string, Schema>, roots: readonly string[]): Record<string, Schema> {
  const out: Record<string, Schema> = { ...defs };
  const decided = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (name: string, path: readonly string[]): void => {
    // listStrategy reads the last two names and the path length only when it is 1 or 2.
    const key = `${name}|${path.slice(-2).join('.')}|${Math.min(path.length, 3)}`;
    if (path.length > pathDepthMax || seen.has(key)) return;
    seen.add(key);
    const properties = out[name]?.['properties'] as Record<string, Schema> | undefined;
    for (const [property, schema] of Object.entries(properties ?? {})) {
      const at = [...path, property];
      if (schema['type'] !== 'array') {
        const ref = refOf(schema);
        if (ref !== undefined) walk(ref, at);
        continue;
      }
      const strategy = listStrategy(at);
      const extensions: Schema = strategy.type === 'atomic' ? {} : { 'x-kubernetes-patch-strategy': 'merge', ...(strategy.type === 'merge' ? { 'x-kubernetes-patch-merge-key': strategy.key } : {}) };
      const verdict = JSON.stringify(extensions);
      const before = decided.get(`${name}.${property}`);
      if (before !== undefined && before !== verdict) throw new Error(`openapi: ${name}.${property} is ${before} at one path and ${verdict} at ${at.join('.')}; fix listStrategy`);
      decided.set(`${name}.${property}`, verdict);
      if (strategy.type !== 'atomic') {
        const definition = out[name]!;
        out[name] = { ...definition, properties: { ...(definition['properties'] as Record<string, Schema>), [property]: { ...schema, ...extensions } } };
      }
      const itemRef = refOf(schema['items'] as Schema | undefined);
      if (itemRef !== undefined) walk(itemRef, at);
    }
  };
  for (const root of roots) walk(root, []);
  return out;
}

/** Upstream's definition name of a kind: its Go package path, reversed domain first. */
function definitionName(group: string, version: string, kind: string): string {
  if (group === '') return `io.k8s.api.core.${version}.${kind}`;
  if (group === 'apiregistration.k8s.io') return `io.k8s.kube-aggregator.pkg.apis.apiregistration.${version}.${kind}`;
  if (group === 'metrics.k8s.io') return `io.k8s.metrics.pkg.apis.metrics.${version}.${kind}`;
  if (group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}.${kind}`;
  return `io.k8s.api.${group.split('.')[0] ?? ''}.${version}.${kind}`;
}

/** A custom resource's definition name: the group reversed (stable.example.com → com.example.stable). */
function customDefinitionName(info: ResourceInfo): string {
  return `${info.group.split('.').reverse().join('.')}.${info.version}.${info.kind}`;
}

const objectMetaRef = `${refPrefix}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;

/** A CRD's structural schema as upstream publishes it: metadata is ObjectMeta, apiVersion and kind are described. */
function customSchema(info: ResourceInfo, defs: Readonly<Record<string, Schema>>): Schema {
  const schema = (info.custom?.schema ?? { type: 'object' }) as Schema;
  const props = { ...((schema['properties'] as Record<string, Schema> | undefined) ?? {}) };
  const typeMeta = (defs['io.k8s.api.core.v1.Pod']?.['properties'] ?? {}) as Record<string, Schema>;
  props['apiVersion'] = { ...typeMeta['apiVersion'], ...props['apiVersion'], type: 'string' };
  props['kind'] = { ...typeMeta['kind'], ...props['kind'], type: 'string' };
  props['metadata'] = { $ref: objectMetaRef };
  return { ...schema, type: 'object', properties: props };
}

function schemaNameOf(info: ResourceInfo): string {
  return info.custom !== undefined ? customDefinitionName(info) : definitionName(info.group, info.version, info.kind);
}

const gvPath = (group: string, version: string): string => (group === '' ? `api/${version}` : `apis/${group}/${version}`);

function op(action: string, gvk: Gvk | undefined, opId: string, extra: Schema = {}): Schema {
  return {
    operationId: opId, ...extra,
    responses: { 200: { description: 'OK' } },
    'x-kubernetes-action': action, ...(gvk === undefined ? {} : { 'x-kubernetes-group-version-kind': gvk }),
  };
}

const writeParams = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));

/** The paths of one resource (and its subresources) that the resource's verbs allow. */
function resourcePaths(info: ResourceInfo): Record<string, Schema> {
  const base = `/${gvPath(info.group, info.version)}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.resource}`;
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const ref = { $ref: `${refPrefix}${schemaNameOf(info)}` };
  const body = (types: readonly string[]): Schema => ({ requestBody: { content: Object.fromEntries(types.map((t) => [t, { schema: ref }])), required: true } });
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json',
    ...(info.custom === undefined ? ['application/strategic-merge-patch+json'] : []), 'application/apply-patch+yaml'];
  const ok = (o: Schema): Schema => ({ ...o, responses: { 200: { description: 'OK', content: { 'application/json': { schema: ref } } } } });
  const id = `${info.kind}`;
  const v = new Set(info.verbs);
  const collection: Schema = {};
  const item: Schema = {};
  if (v.has('list')) collection['get'] = op('list', gvk, `list${id}`);
  if (v.has('create')) collection['post'] = ok(op('post', gvk, `create${id}`, { ...body(['application/json']), parameters: writeParams }));
  if (v.has('deletecollection')) collection['delete'] = op('deletecollection', gvk, `deleteCollection${id}`);
  if (v.has('get')) item['get'] = ok(op('get', gvk, `read${id}`));
  if (v.has('update')) item['put'] = ok(op('put', gvk, `replace${id}`, { ...body(['application/json']), parameters: writeParams }));
  if (v.has('patch')) item['patch'] = ok(op('patch', gvk, `patch${id}`, { ...body(patchTypes), parameters: writeParams }));
  if (v.has('delete')) item['delete'] = op('delete', gvk, `delete${id}`);
  const out: Record<string, Schema> = {};
  if (Object.keys(collection).length > 0) out[base] = collection;
  if (Object.keys(item).length > 0) out[`${base}/{name}`] = item;
  for (const sub of info.subresources) {
    // Logs and the streams answer no object schema of their own.
    const subGvk = ['log', 'exec', 'attach', 'portforward'].includes(sub.name) ? undefined : { group: sub.group, version: sub.version, kind: sub.kind };
    const subRef = { $ref: `${refPrefix}${sub.kind === info.kind && sub.group === info.group ? schemaNameOf(info) : definitionName(sub.group, sub.version, sub.kind)}` };
    const subOk = (o: Schema): Schema => (subGvk === undefined ? o : { ...o, responses: { 200: { description: 'OK', content: { 'application/json': { schema: subRef } } } } });
    const ops: Schema = {};
    const name = `${id}${sub.name.charAt(0).toUpperCase()}${sub.name.slice(1)}`;
    if (sub.verbs.includes('get')) ops['get'] = subOk(op('get', subGvk, `read${name}`));
    if (sub.verbs.includes('create')) ops['post'] = subOk(op('post', subGvk, `create${name}`, { parameters: writeParams }));
    if (sub.verbs.includes('update')) ops['put'] = subOk(op('put', subGvk, `replace${name}`, { parameters: writeParams }));
    // A body with every patch type, as the object's own PATCH: kubectl apply picks one PATCH path of
    // the kind at random (a Go map) to learn whether strategic merge is supported.
    const subBody: Schema = subGvk === undefined ? {} : { requestBody: { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: subRef }])), required: true } };
    if (sub.verbs.includes('patch')) ops['patch'] = subOk(op('patch', subGvk, `patch${name}`, { ...subBody, parameters: writeParams }));
    out[`${base}/{name}/${sub.name}`] = ops;
  }
  return out;
}

/** Every schema `start` reaches through `$ref`s, by name. */
function closure(start: readonly string[], lookup: (name: string) => Schema | undefined): Map<string, Schema> {
  const out = new Map<string, Schema>();
  const queue = [...start];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (out.has(name)) continue;
    const s = lookup(name);
    if (s === undefined) continue;
    out.set(name, s);
    JSON.stringify(s, (k, v: unknown) => {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(refPrefix)) queue.push(v.slice(refPrefix.length));
      return v;
    });
  }
  return out;
}

/** Schemas by name: the built-in ones, the custom resources', each kind's carrying its group-version-kinds. */
function schemaTable(served: readonly ResourceInfo[]): (name: string) => Schema | undefined {
  const defs = builtinDefinitions();
  const custom = new Map(served.filter((i) => i.custom !== undefined).map((i) => [customDefinitionName(i), customSchema(i, defs)]));
  const gvks = new Map<string, Gvk[]>();
  const note = (name: string, gvk: Gvk): void => {
    const list = gvks.get(name) ?? [];
    if (!list.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind)) list.push(gvk);
    gvks.set(name, list);
  };
  for (const info of served) {
    note(schemaNameOf(info), { group: info.group, version: info.version, kind: info.kind });
    for (const sub of info.subresources) {
      if (sub.kind !== info.kind || sub.group !== info.group) note(definitionName(sub.group, sub.version, sub.kind), { group: sub.group, version: sub.version, kind: sub.kind });
    }
  }
  return (name) => {
    const s = custom.get(name) ?? defs[name];
    const g = gvks.get(name);
    return s === undefined || g === undefined ? s : { ...s, 'x-kubernetes-group-version-kind': g };
  };
}

/** The built-in kinds and the custom resources served now. */
function servedKinds(custom: readonly ResourceInfo[]): ResourceInfo[] {
  return [...builtinResources, ...custom];
}

/** One group-version's OpenAPI v3 document, or undefined when nothing in it is served. */
export function groupVersionOpenApi(group: string, version: string, served: readonly ResourceInfo[]): Schema | undefined {
  const infos = served.filter((i) => i.group === group && i.version === version);
  if (infos.length === 0) return undefined;
  const paths: Record<string, Schema> = {};
  for (const info of infos) Object.assign(paths, resourcePaths(info));
  const refs: string[] = [];
  JSON.stringify(paths, (k, v: unknown) => {
    if (k === '$ref' && typeof v === 'string') refs.push(v.slice(refPrefix.length));
    return v;
  });
  const schemas = closure(refs, schemaTable(served));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: kubernetesVersion.gitVersion },
    paths: sortKeys(paths),
    components: { schemas: sortKeys(Object.fromEntries(schemas)) },
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A document's hash (upstream: the SHA-512 of the document, hex, upper case): it changes whenever the document does. */
export function documentHash(doc: Schema): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** `/openapi/v3`: where each served group-version's document is, with its hash (kubectl's cache key). */
export function openApiV3Root(served: readonly ResourceInfo[]): Schema {
  const gvs = new Map<string, { group: string; version: string }>();
  for (const i of served) gvs.set(gvPath(i.group, i.version), { group: i.group, version: i.version });
  const paths: Record<string, Schema> = {};
  for (const [path, gv] of [...gvs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const doc = groupVersionOpenApi(gv.group, gv.version, served);
    if (doc !== undefined) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${documentHash(doc)}` };
  }
  return { paths };
}

/** Rewrites a v3 schema into Swagger 2.0's dialect: refs to #/definitions, no oneOf, int-or-string and Quantity as strings. */
function toV2(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toV2);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Schema;
  if (typeof o['$ref'] === 'string') return { $ref: (o['$ref']).replace(refPrefix, '#/definitions/') };
  const out: Schema = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'oneOf') { out['type'] = 'string'; continue; }
    if (k === 'requestBody' || k === 'content') continue;
    out[k] = toV2(v);
  }
  return out;
}

/** `/openapi/v2`: one Swagger 2.0 document of every served group-version. */
export function openApiV2Document(served: readonly ResourceInfo[]): Schema {
  const paths: Record<string, Schema> = {};
  const definitions: Record<string, Schema> = {};
  const gvs = new Map(served.map((i) => [`${i.group}/${i.version}`, i]));
  for (const i of gvs.values()) {
    const doc = groupVersionOpenApi(i.group, i.version, served);
    if (doc === undefined) continue;
    Object.assign(paths, toV2(doc['paths']));
    Object.assign(definitions, toV2((doc['components'] as Schema)['schemas']));
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: kubernetesVersion.gitVersion }, paths: sortKeys(paths), definitions: sortKeys(definitions) };
}

export const openApiV2ProtobufMediaType = 'application/com.github.proto-openapi.spec.v2';
const jsonType = 'application/json';

/**
 * What an Accept header prefers among JSON and v2's protobuf: the first listed (highest q) of the
 * two, `*` and `application/*` meaning JSON; no header means JSON, as upstream.
 */
export function preferredOpenApiType(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = accept.split(',').map((part, i) => {
    const [type = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type, q: q === undefined ? 1 : Number(q.slice(2)) || 0, i };
  }).filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    if (r.type.startsWith(openApiV2ProtobufMediaType)) return 'protobuf';
    if (r.type === jsonType || r.type === '*/*' || r.type === 'application/*') return 'json';
  }
  return undefined;
}

/** The documents of one served set, built once per change of that set (building one takes a few ms). */
export class OpenApiDocuments {
  private key: unknown;
  private cache = new Map<string, Schema | undefined>();

  constructor(private readonly served: () => { key: unknown; custom: readonly ResourceInfo[] }) {}

  private fresh(): readonly ResourceInfo[] {
    const now = this.served();
    if (now.key !== this.key) {
      this.key = now.key;
      this.cache = new Map();
    }
    return servedKinds(now.custom);
  }

  private memo(key: string, make: (served: readonly ResourceInfo[]) => Schema | undefined): Schema | undefined {
    const served = this.fresh();
    if (!this.cache.has(key)) this.cache.set(key, make(served));
    return this.cache.get(key);
  }

  root(): Schema { return this.memo('root', openApiV3Root) as Schema; }
  v2(): Schema { return this.memo('v2', openApiV2Document) as Schema; }

  /** `api/v1`, `apis/apps/v1`. */
  groupVersion(path: string): Schema | undefined {
    const parts = path.split('/');
    const gv = parts[0] === 'api' && parts.length === 2 ? { group: '', version: parts[1] ?? '' }
      : parts[0] === 'apis' && parts.length === 3 ? { group: parts[1] ?? '', version: parts[2] ?? '' } : undefined;
    if (gv === undefined) return undefined;
    return this.memo(`gv:${path}`, (served) => groupVersionOpenApi(gv.group, gv.version, served));
  }
}
