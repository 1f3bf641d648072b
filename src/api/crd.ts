/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition: validation of the definition itself (as
 * apiextensions-apiserver's ValidateCustomResourceDefinition, the rules users hit), the status
 * conditions its controllers would set (NamesAccepted, Established), and the ResourceInfo each
 * served version becomes once established.
 */
import type { CustomResourceInfo, PrinterColumn, ResourceInfo, ScalePaths, SubresourceInfo, Verb } from './resources.js';
import type { FieldCause } from './status.js';
import { FieldErrors, show } from './field-errors.js';
import { schemaProblems, type StructuralSchema } from './structural.js';
import { isDns1123Subdomain } from './names.js';
import { asArray, asRecord, asString, isRecord, type JsonObject } from './types.js';

export const crdGroup = 'apiextensions.k8s.io';
/** Held on every CRD so that its objects are deleted before it goes (upstream's finalizer name). */
export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035Re = new RegExp(`^${dns1035LabelFmt}$`);

function dns1035Problems(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!dns1035Re.test(v)) {
    out.push(`a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${dns1035LabelFmt}')`);
  }
  return out;
}


export interface CrdNames {
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
}

/** spec.names with upstream's defaults (singular: lower-case kind; listKind: kind + "List"). */
export function crdNames(crd: JsonObject): CrdNames {
  const n = asRecord(asRecord(crd['spec'])?.['names']) ?? {};
  const kind = asString(n['kind']) ?? '';
  const strings = (v: unknown): string[] => asArray(v).filter((x): x is string => typeof x === 'string');
  return {
    plural: asString(n['plural']) ?? '', kind,
    singular: asString(n['singular']) || kind.toLowerCase(),
    listKind: asString(n['listKind']) || `${kind}List`,
    shortNames: strings(n['shortNames']), categories: strings(n['categories']),
  };
}

const scopes = ['Cluster', 'Namespaced'];
const columnTypes = ['integer', 'number', 'string', 'boolean', 'date'];

/** The CRD's own validation (create and update). */
export function validateCrd(crd: JsonObject): FieldCause[] {
  const e = new FieldErrors();
  const spec = asRecord(crd['spec']);
  if (spec === undefined) {
    e.required('spec');
    return e.list;
  }
  const group = asString(spec['group']) ?? '';
  const names = crdNames(crd);
  const name = asString(asRecord(crd['metadata'])?.['name']) ?? '';
  if (name !== `${names.plural}.${group}`) e.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group');
  if (group === '') e.required('spec.group');
  else {
    for (const p of isDns1123Subdomain(group)) e.invalid('spec.group', group, p);
    if (group.split('.').length < 2) e.invalid('spec.group', group, 'should be a domain with at least one dot');
  }
  const scope = spec['scope'];
  if (scope === undefined || scope === '') e.required('spec.scope');
  else if (!scopes.includes(scope as string)) e.notSupported('spec.scope', scope, scopes);
  validateNames(names, e);
  validateVersions(spec, e);
  return e.list;
}

/** What an update of a CRD may not change: its group and scope (the stored objects' keys and shape). */
export function validateCrdUpdate(crd: JsonObject, old: JsonObject): FieldCause[] {
  const e = new FieldErrors();
  const spec = asRecord(crd['spec']) ?? {};
  const oldSpec = asRecord(old['spec']) ?? {};
  if (oldSpec['group'] !== spec['group']) e.invalid('spec.group', spec['group'], 'field is immutable');
  if (oldSpec['scope'] !== spec['scope']) e.invalid('spec.scope', spec['scope'], 'field is immutable');
  return e.list;
}

function validateNames(n: CrdNames, e: FieldErrors): void {
  const f = 'spec.names';
  if (n.plural === '') e.required(`${f}.plural`);
  else for (const p of dns1035Problems(n.plural)) e.invalid(`${f}.plural`, n.plural, p);
  for (const p of dns1035Problems(n.singular)) e.invalid(`${f}.singular`, n.singular, p);
  if (n.kind === '') e.required(`${f}.kind`);
  else for (const p of dns1035Problems(n.kind.toLowerCase())) e.invalid(`${f}.kind`, n.kind, p);
  for (const p of dns1035Problems(n.listKind.toLowerCase())) e.invalid(`${f}.listKind`, n.listKind, p);
  if (n.kind !== '' && n.kind === n.listKind) e.invalid(`${f}.listKind`, n.listKind, 'kind and listKind may not be the same or parsing become ambiguous');
  n.shortNames.forEach((s, i) => {
    for (const p of dns1035Problems(s)) e.invalid(`${f}.shortNames[${i}]`, s, p);
  });
}

function validateVersions(spec: JsonObject, e: FieldErrors): void {
  const versions = asArray(spec['versions']);
  if (versions.length === 0) {
    e.required('spec.versions', 'must have exactly one version marked as storage version');
    return;
  }
  const seen = new Set<string>();
  let storage = 0;
  let served = 0;
  versions.forEach((raw, i) => {
    const f = `spec.versions[${i}]`;
    const v = asRecord(raw) ?? {};
    const name = asString(v['name']) ?? '';
    if (name === '') e.required(`${f}.name`);
    else {
      for (const p of dns1035Problems(name)) e.invalid(`${f}.name`, name, p);
      if (seen.has(name)) e.list.push({ type: 'FieldValueDuplicate', field: `${f}.name`, message: `Duplicate value: ${show(name)}` });
      seen.add(name);
    }
    if (typeof v['served'] !== 'boolean') e.required(`${f}.served`);
    if (typeof v['storage'] !== 'boolean') e.required(`${f}.storage`);
    if (v['served'] === true) served++;
    if (v['storage'] === true) storage++;
    const schema = asRecord(v['schema'])?.['openAPIV3Schema'];
    if (schema === undefined) e.required(`${f}.schema.openAPIV3Schema`, 'schemas are required');
    else {
      e.list.push(...schemaProblems(schema, `${f}.schema.openAPIV3Schema`));
      if (isRecord(schema) && schema['type'] !== 'object') e.invalid(`${f}.schema.openAPIV3Schema.type`, schema['type'], 'must be object at the root');
    }
    const scale = asRecord(asRecord(v['subresources'])?.['scale']);
    if (scale !== undefined) {
      for (const k of ['specReplicasPath', 'statusReplicasPath']) {
        const p = asString(scale[k]) ?? '';
        if (p === '') e.required(`${f}.subresources.scale.${k}`);
        else if (!/^(\.[A-Za-z0-9_-]+)+$/.test(p)) e.invalid(`${f}.subresources.scale.${k}`, p, 'should be a json path under .spec or .status');
      }
    }
    asArray(v['additionalPrinterColumns']).forEach((c, j) => {
      const cf = `${f}.additionalPrinterColumns[${j}]`;
      const col = asRecord(c) ?? {};
      if ((asString(col['name']) ?? '') === '') e.required(`${cf}.name`);
      if ((asString(col['jsonPath']) ?? '') === '') e.required(`${cf}.jsonPath`);
      if (!columnTypes.includes(col['type'] as string)) e.notSupported(`${cf}.type`, col['type'], columnTypes);
    });
  });
  if (storage !== 1) e.invalid('spec.versions', versions, 'must have exactly one version marked as storage version');
  if (served === 0) e.invalid('spec.versions', versions, 'must have at least one version marked as served');
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, nowIso: string, old: JsonObject | undefined): JsonObject {
  const prior = asArray(asRecord(old?.['status'])?.['conditions']).filter(isRecord).find((c) => c['type'] === type);
  const lastTransitionTime = prior !== undefined && prior['status'] === status ? prior['lastTransitionTime'] : nowIso;
  return { type, status, lastTransitionTime, reason, message };
}

/**
 * The status the naming and establishing controllers converge to: names conflict when another CRD
 * of the group already uses the plural, a short name or the kind.
 */
export function crdStatus(crd: JsonObject, others: readonly JsonObject[], nowIso: string, old?: JsonObject): JsonObject {
  const names = crdNames(crd);
  const group = asString(asRecord(crd['spec'])?.['group']) ?? '';
  const myName = asString(asRecord(crd['metadata'])?.['name']);
  let conflict: { reason: string; message: string } | undefined;
  for (const o of others) {
    if (asString(asRecord(o['metadata'])?.['name']) === myName || asRecord(o['spec'])?.['group'] !== group) continue;
    const on = crdNames(o);
    const taken = new Set([on.plural, on.singular, ...on.shortNames]);
    if (taken.has(names.plural)) conflict = { reason: 'PluralConflict', message: `"${names.plural}" is already in use` };
    else if (names.shortNames.some((s) => taken.has(s))) conflict = { reason: 'ShortNamesConflict', message: `"${names.shortNames.find((s) => taken.has(s)) ?? ''}" is already in use` };
    else if (on.kind === names.kind || on.listKind === names.listKind) conflict = { reason: 'KindConflict', message: `"${names.kind}" is already in use` };
    if (conflict !== undefined) break;
  }
  const storage = asArray(asRecord(crd['spec'])?.['versions']).filter(isRecord).find((v) => v['storage'] === true);
  const oldStored = asArray(asRecord(old?.['status'])?.['storedVersions']).filter((x): x is string => typeof x === 'string');
  const storedVersions = [...new Set([...oldStored, ...(storage === undefined ? [] : [asString(storage['name']) ?? ''])])];
  const accepted = conflict === undefined;
  const conditions = [
    accepted ? condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', nowIso, old)
      : condition('NamesAccepted', 'False', conflict!.reason, conflict!.message, nowIso, old),
    accepted ? condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted', nowIso, old)
      : condition('Established', 'False', 'NotAccepted', 'not all names are accepted', nowIso, old),
  ];
  const acceptedNames: JsonObject = { plural: names.plural, singular: names.singular, kind: names.kind, listKind: names.listKind };
  if (names.shortNames.length > 0) acceptedNames['shortNames'] = [...names.shortNames];
  if (names.categories.length > 0) acceptedNames['categories'] = [...names.categories];
  return { conditions, acceptedNames: accepted ? acceptedNames : (asRecord(old?.['status'])?.['acceptedNames'] ?? { plural: '', kind: '' }), storedVersions };
}

export function isEstablished(crd: JsonObject): boolean {
  return asArray(asRecord(crd['status'])?.['conditions']).filter(isRecord).some((c) => c['type'] === 'Established' && c['status'] === 'True');
}

const allVerbs: readonly Verb[] = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];
const subVerbs: readonly Verb[] = ['get', 'patch', 'update'];
const ageColumn: PrinterColumn = {
  name: 'Age', type: 'date', format: '', priority: 0, jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

/**
 * One ResourceInfo per served version of an established CRD (none for a CRD not established or
 * terminating). `evenIfNotServed`: every version regardless (the cleanup of a deleted CRD's objects).
 */
export function customResourceInfos(crd: JsonObject, opts: { evenIfNotServed?: boolean } = {}): ResourceInfo[] {
  const all = opts.evenIfNotServed === true;
  if (!all && (!isEstablished(crd) || asRecord(crd['metadata'])?.['deletionTimestamp'] !== undefined)) return [];
  const spec = asRecord(crd['spec']) ?? {};
  const group = asString(spec['group']) ?? '';
  const names = crdNames(crd);
  const crdName = asString(asRecord(crd['metadata'])?.['name']) ?? '';
  const out: ResourceInfo[] = [];
  for (const v of asArray(spec['versions']).filter(isRecord)) {
    if (v['served'] !== true && !all) continue;
    const version = asString(v['name']) ?? '';
    const subs = asRecord(v['subresources']) ?? {};
    const hasStatus = subs['status'] !== undefined;
    const scaleRaw = asRecord(subs['scale']);
    const subresources: SubresourceInfo[] = [];
    let scale: ScalePaths | undefined;
    if (scaleRaw !== undefined) {
      const selectorPath = asString(scaleRaw['labelSelectorPath']);
      scale = {
        specReplicasPath: asString(scaleRaw['specReplicasPath']) ?? '.spec.replicas',
        statusReplicasPath: asString(scaleRaw['statusReplicasPath']) ?? '.status.replicas',
        ...(selectorPath === undefined ? {} : { labelSelectorPath: selectorPath }),
      };
      subresources.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: subVerbs });
    }
    if (hasStatus) subresources.push({ name: 'status', group, version, kind: names.kind, verbs: subVerbs });
    const rawColumns = asArray(v['additionalPrinterColumns']).filter(isRecord);
    const columns: PrinterColumn[] = rawColumns.length === 0 ? [ageColumn] : rawColumns.map((c) => ({
      name: asString(c['name']) ?? '', type: (c['type'] as PrinterColumn['type']), format: asString(c['format']) ?? '',
      description: asString(c['description']) ?? '', priority: typeof c['priority'] === 'number' ? c['priority'] : 0, jsonPath: asString(c['jsonPath']) ?? '',
    }));
    const custom: CustomResourceInfo = {
      crdName, schema: (asRecord(asRecord(v['schema'])?.['openAPIV3Schema']) ?? { type: 'object' }) as StructuralSchema, columns,
      ...(scale === undefined ? {} : { scale }),
    };
    out.push({
      group, version, kind: names.kind, listKind: names.listKind, resource: names.plural, singular: names.singular,
      namespaced: spec['scope'] === 'Namespaced', shortNames: names.shortNames, categories: names.categories, verbs: allVerbs,
      hasStatus, subresources, storageResource: `${group}/${names.plural}`, custom,
    });
  }
  return out;
}
