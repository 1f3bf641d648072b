/**
 * Object validation as kube-apiserver's pkg/apis/<group>/validation, for the fields that matter to
 * this project. Results are field causes; `invalidStatus` turns them into the 422 reply.
 */
import { isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';
import { parseQuantityValue, type Quantity } from './quantity.js';
import { validateCrd, validateCrdUpdate } from './crd.js';
import { lookupKind } from './resources.js';
import { labelSelectorFromObject, matchesLabels } from './selectors.js';
import { invalid, type FieldCause, type Status } from './status.js';
import { asArray, asRecord, asString, deepClone, deepEqual, isRecord, splitApiVersion, type JsonObject } from './types.js';
import { FieldErrors } from './field-errors.js';

export { FieldErrors } from './field-errors.js';

export const maxAnnotationsTotalBytes = 256 * 1024;
export const maxConfigMapBytes = 1024 * 1024;
export const maxUserPriority = 1_000_000_000;


const records = (v: unknown): JsonObject[] => asArray(v).filter(isRecord);

// ---------------------------------------------------------------------------------------------
// Names and metadata

type NameRule = 'subdomain' | 'label' | 'rfc1035' | 'path';

function nameRuleFor(kind: string): NameRule {
  switch (kind) {
    case 'Namespace': return 'label';
    case 'Service': return 'rfc1035';
    case 'Role': case 'ClusterRole': case 'RoleBinding': case 'ClusterRoleBinding': return 'path';
    default: return 'subdomain';
  }
}

const rfc1035Fmt = '[a-z]([-a-z0-9]*[a-z0-9])?';

function nameProblems(rule: NameRule, name: string): string[] {
  switch (rule) {
    case 'subdomain': return isDns1123Subdomain(name);
    case 'label': return isDns1123Label(name);
    case 'rfc1035': {
      const errs: string[] = [];
      if (name.length > 63) errs.push('must be no more than 63 characters');
      if (!new RegExp(`^${rfc1035Fmt}$`).test(name)) {
        errs.push(`a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${rfc1035Fmt}')`);
      }
      return errs;
    }
    case 'path':
      if (name === '.' || name === '..') return [`may not be '${name}'`];
      return name.includes('/') || name.includes('%') ? [`may not contain '${name.includes('/') ? '/' : '%'}'`] : [];
    default: {
      const never: never = rule;
      throw new Error(`rule ${String(never)}`);
    }
  }
}

export function validateLabels(labels: unknown, field: string, e: FieldErrors): void {
  if (labels === undefined || labels === null) return;
  if (!isRecord(labels)) {
    e.invalid(field, labels, 'must be a map of string keys to string values');
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    e.check(field, k, isQualifiedName(k));
    if (typeof v !== 'string') e.invalid(field, v, 'label values must be strings');
    else e.check(field, v, isValidLabelValue(v));
  }
}

function validateAnnotations(annotations: unknown, field: string, e: FieldErrors): void {
  if (annotations === undefined || annotations === null) return;
  if (!isRecord(annotations)) {
    e.invalid(field, annotations, 'must be a map of string keys to string values');
    return;
  }
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    e.check(field, k, isQualifiedName(k.toLowerCase()));
    if (typeof v !== 'string') e.invalid(field, v, 'annotation values must be strings');
    total += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (total > maxAnnotationsTotalBytes) e.tooLong(field, maxAnnotationsTotalBytes);
}

function validateMeta(o: JsonObject, e: FieldErrors): void {
  const kind = asString(o['kind']) ?? '';
  const meta = asRecord(o['metadata']) ?? {};
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    if (typeof meta['generateName'] !== 'string' || meta['generateName'] === '') e.required('metadata.name', 'name or generateName is required');
  } else {
    e.check('metadata.name', name, nameProblems(nameRuleFor(kind), name));
  }
  const info = lookupKind(asString(o['apiVersion']) ?? '', kind);
  const ns = meta['namespace'];
  if (info !== undefined && info.namespaced) {
    if (typeof ns !== 'string' || ns === '') e.required('metadata.namespace');
    else e.check('metadata.namespace', ns, isDns1123Label(ns));
  } else if (info !== undefined && typeof ns === 'string' && ns !== '') {
    e.forbidden('metadata.namespace', 'not allowed on this type');
  }
  validateLabels(meta['labels'], 'metadata.labels', e);
  validateAnnotations(meta['annotations'], 'metadata.annotations', e);
  asArray(meta['finalizers']).forEach((f, i) => {
    if (typeof f !== 'string') e.invalid(`metadata.finalizers[${i}]`, f, 'must be a string');
    else e.check(`metadata.finalizers[${i}]`, f, isQualifiedName(f));
  });
  records(meta['ownerReferences']).forEach((r, i) => {
    for (const k of ['apiVersion', 'kind', 'name', 'uid']) {
      if (typeof r[k] !== 'string' || r[k] === '') e.required(`metadata.ownerReferences[${i}].${k}`);
    }
  });
}

function validateMetaUpdate(n: JsonObject, old: JsonObject, e: FieldErrors): void {
  const nm = asRecord(n['metadata']) ?? {};
  const om = asRecord(old['metadata']) ?? {};
  for (const k of ['name', 'namespace', 'uid', 'creationTimestamp']) {
    if (!deepEqual(nm[k] ?? undefined, om[k] ?? undefined)) e.invalid(`metadata.${k}`, nm[k], 'field is immutable');
  }
}

// ---------------------------------------------------------------------------------------------
// Pods

const protocols = ['SCTP', 'TCP', 'UDP'];
const restartPolicies = ['Always', 'OnFailure', 'Never'];
const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const pullPolicies = ['Always', 'IfNotPresent', 'Never'];
const ianaSvcNameRe = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function validatePortNumber(field: string, v: unknown, e: FieldErrors, required: boolean): void {
  if (v === undefined || v === null) {
    if (required) e.required(field);
    return;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) e.invalid(field, v, 'must be between 1 and 65535, inclusive');
}

function validatePortName(field: string, name: string, e: FieldErrors): void {
  if (name.length > 15) e.invalid(field, name, 'must be no more than 15 characters');
  if (!ianaSvcNameRe.test(name)) e.invalid(field, name, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  else if (name.includes('--')) e.invalid(field, name, 'must not contain consecutive hyphens');
  if (!/[a-z]/.test(name)) e.invalid(field, name, 'must contain at least one letter (a-z)');
}

function validateQuantityMap(field: string, v: unknown, e: FieldErrors): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [k, q] of Object.entries(asRecord(v) ?? {})) {
    const r = parseQuantityValue(q);
    if (!r.ok) {
      e.invalid(`${field}[${k}]`, q, r.error);
      continue;
    }
    if (r.quantity.nanos < 0n) e.invalid(`${field}[${k}]`, q, 'must be greater than or equal to 0');
    out.set(k, r.quantity);
  }
  return out;
}

function validateContainer(c: JsonObject, field: string, volumes: ReadonlySet<string>, e: FieldErrors): void {
  const name = c['name'];
  if (typeof name !== 'string' || name === '') e.required(`${field}.name`);
  else e.check(`${field}.name`, name, isDns1123Label(name));
  if (typeof c['image'] !== 'string' || c['image'].trim() === '') e.required(`${field}.image`);
  e.oneOf(`${field}.imagePullPolicy`, c['imagePullPolicy'], pullPolicies);
  e.oneOf(`${field}.terminationMessagePolicy`, c['terminationMessagePolicy'], ['File', 'FallbackToLogsOnError']);
  const portNames = new Set<string>();
  const portKeys = new Set<string>();
  records(c['ports']).forEach((p, i) => {
    const pf = `${field}.ports[${i}]`;
    validatePortNumber(`${pf}.containerPort`, p['containerPort'], e, true);
    if (p['hostPort'] !== undefined && p['hostPort'] !== 0) validatePortNumber(`${pf}.hostPort`, p['hostPort'], e, false);
    e.oneOf(`${pf}.protocol`, p['protocol'], protocols);
    const pn = p['name'];
    if (typeof pn === 'string' && pn !== '') {
      validatePortName(`${pf}.name`, pn, e);
      if (portNames.has(pn)) e.duplicate(`${pf}.name`, pn);
      portNames.add(pn);
    }
    const key = `${String(p['containerPort'])}/${String(p['protocol'] ?? 'TCP')}`;
    if (portKeys.has(key) && p['hostPort'] !== undefined) e.duplicate(`${pf}`, key);
    portKeys.add(key);
  });
  const envNames = new Set<string>();
  records(c['env']).forEach((v, i) => {
    const n = v['name'];
    if (typeof n !== 'string' || n === '') e.required(`${field}.env[${i}].name`);
    else if (!/^[ -<>-~]+$/.test(n)) {
      e.invalid(`${field}.env[${i}].name`, n, "a valid environment variable name must consist only of printable ASCII characters other than '='");
    }
    if (typeof n === 'string') envNames.add(n);
  });
  const res = asRecord(c['resources']) ?? {};
  const limits = validateQuantityMap(`${field}.resources.limits`, res['limits'], e);
  const requests = validateQuantityMap(`${field}.resources.requests`, res['requests'], e);
  for (const [k, req] of requests) {
    const lim = limits.get(k);
    if (lim !== undefined && req.nanos > lim.nanos) {
      e.invalid(`${field}.resources.requests`, asRecord(res['requests'])?.[k], `must be less than or equal to ${k} limit of ${String(asRecord(res['limits'])?.[k])}`);
    }
  }
  const mountPaths = new Set<string>();
  records(c['volumeMounts']).forEach((m, i) => {
    const mf = `${field}.volumeMounts[${i}]`;
    const vn = m['name'];
    if (typeof vn !== 'string' || vn === '') e.required(`${mf}.name`);
    else if (!volumes.has(vn)) e.notFound(`${mf}.name`, vn);
    const mp = m['mountPath'];
    if (typeof mp !== 'string' || mp === '') e.required(`${mf}.mountPath`);
    else {
      if (mountPaths.has(mp)) e.invalid(`${mf}.mountPath`, mp, 'must be unique');
      mountPaths.add(mp);
    }
  });
}

export function validatePodSpec(spec: unknown, field: string, e: FieldErrors): void {
  const s = asRecord(spec) ?? {};
  const volumes = new Set<string>();
  records(s['volumes']).forEach((v, i) => {
    const n = v['name'];
    if (typeof n !== 'string' || n === '') e.required(`${field}.volumes[${i}].name`);
    else {
      e.check(`${field}.volumes[${i}].name`, n, isDns1123Label(n));
      if (volumes.has(n)) e.duplicate(`${field}.volumes[${i}].name`, n);
      volumes.add(n);
    }
  });
  const containers = records(s['containers']);
  if (containers.length === 0) e.required(`${field}.containers`);
  const names = new Set<string>();
  for (const key of ['initContainers', 'containers']) {
    records(s[key]).forEach((c, i) => {
      const cf = `${field}.${key}[${i}]`;
      validateContainer(c, cf, volumes, e);
      const n = c['name'];
      if (typeof n === 'string' && n !== '') {
        if (names.has(n)) e.duplicate(`${cf}.name`, n);
        names.add(n);
      }
    });
  }
  e.oneOf(`${field}.restartPolicy`, s['restartPolicy'], restartPolicies);
  e.oneOf(`${field}.dnsPolicy`, s['dnsPolicy'], dnsPolicies);
  e.nonNegative(`${field}.terminationGracePeriodSeconds`, s['terminationGracePeriodSeconds']);
  const ads = s['activeDeadlineSeconds'];
  if (ads !== undefined && ads !== null && (typeof ads !== 'number' || !Number.isInteger(ads) || ads <= 0)) {
    e.invalid(`${field}.activeDeadlineSeconds`, ads, 'must be between 1 and 2147483647, inclusive');
  }
  for (const k of ['nodeName', 'serviceAccountName', 'hostname', 'subdomain']) {
    const v = s[k];
    if (typeof v === 'string' && v !== '') e.check(`${field}.${k}`, v, k === 'hostname' || k === 'subdomain' ? isDns1123Label(v) : isDns1123Subdomain(v));
  }
  validateLabels(s['nodeSelector'], `${field}.nodeSelector`, e);
  records(s['tolerations']).forEach((t, i) => {
    const tf = `${field}.tolerations[${i}]`;
    e.oneOf(`${tf}.operator`, t['operator'], ['Equal', 'Exists']);
    e.oneOf(`${tf}.effect`, t['effect'], ['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
    if (t['operator'] === 'Exists' && typeof t['value'] === 'string' && t['value'] !== '') {
      e.invalid(`${tf}.operator`, t['operator'], 'value must be empty when `operator` is \'Exists\'');
    }
  });
}

/**
 * Pod spec updates: Kubernetes only allows image changes, activeDeadlineSeconds, added tolerations
 * and removal of scheduling gates.
 */
function validatePodSpecUpdate(n: JsonObject, old: JsonObject, e: FieldErrors): void {
  const ns = deepClone(asRecord(n['spec']) ?? {});
  const os = deepClone(asRecord(old['spec']) ?? {});
  for (const key of ['containers', 'initContainers']) {
    const oc = records(os[key]);
    records(ns[key]).forEach((c, i) => {
      const o = oc[i];
      if (o !== undefined) c['image'] = o['image'];
    });
  }
  ns['activeDeadlineSeconds'] = os['activeDeadlineSeconds'];
  const oldTols = records(os['tolerations']);
  const newTols = records(ns['tolerations']);
  if (oldTols.every((t) => newTols.some((x) => deepEqual(x, t)))) ns['tolerations'] = os['tolerations'];
  if (records(ns['schedulingGates']).every((g) => records(os['schedulingGates']).some((x) => deepEqual(x, g)))) ns['schedulingGates'] = os['schedulingGates'];
  const strip = (x: JsonObject): JsonObject => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
  if (!deepEqual(strip(ns), strip(os))) {
    e.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)');
  }
}

// ---------------------------------------------------------------------------------------------
// Workloads

function validateSelectorAndTemplate(spec: JsonObject, e: FieldErrors, allowedRestart: readonly string[]): void {
  const sel = spec['selector'];
  if (sel === undefined || sel === null) e.required('spec.selector');
  else {
    const r = labelSelectorFromObject(sel);
    if (!r.ok) e.invalid('spec.selector', sel, r.error);
    else if (r.value !== 'nothing' && r.value.length === 0) e.invalid('spec.selector', sel, 'empty selector is invalid for deployment');
    else if (r.value !== 'nothing') {
      const labels = asRecord(asRecord(asRecord(spec['template'])?.['metadata'])?.['labels']) as Record<string, string> | undefined;
      if (!matchesLabels(r.value, labels)) e.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`');
    }
  }
  const tmpl = asRecord(spec['template']);
  if (tmpl === undefined) {
    e.required('spec.template');
    return;
  }
  validateLabels(asRecord(tmpl['metadata'])?.['labels'], 'spec.template.metadata.labels', e);
  const podSpec = asRecord(tmpl['spec']) ?? {};
  validatePodSpec(podSpec, 'spec.template.spec', e);
  const rp = podSpec['restartPolicy'];
  if (rp !== undefined && (typeof rp !== 'string' || !allowedRestart.includes(rp))) e.notSupported('spec.template.spec.restartPolicy', rp, allowedRestart);
}

function isIntOrPercent(v: unknown): { ok: boolean; zero: boolean } {
  if (v === undefined || v === null) return { ok: true, zero: false };
  if (typeof v === 'number') return { ok: Number.isInteger(v) && v >= 0, zero: v === 0 };
  if (typeof v === 'string') {
    const m = /^([0-9]+)%$/.exec(v);
    if (m === null) return { ok: false, zero: false };
    return { ok: Number(m[1]) <= 100, zero: Number(m[1]) === 0 };
  }
  return { ok: false, zero: false };
}

function validateDeployment(o: JsonObject, e: FieldErrors): void {
  const spec = asRecord(o['spec']) ?? {};
  e.nonNegative('spec.replicas', spec['replicas']);
  validateSelectorAndTemplate(spec, e, ['Always']);
  const strategy = asRecord(spec['strategy']) ?? {};
  e.oneOf('spec.strategy.type', strategy['type'], ['Recreate', 'RollingUpdate']);
  const ru = asRecord(strategy['rollingUpdate']);
  if (strategy['type'] === 'Recreate' && ru !== undefined) e.forbidden('spec.strategy.rollingUpdate', 'may not be specified when strategy `type` is \'Recreate\'');
  if (ru !== undefined) {
    const mu = isIntOrPercent(ru['maxUnavailable']);
    const ms = isIntOrPercent(ru['maxSurge']);
    if (!mu.ok) e.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru['maxUnavailable'], 'must be a non-negative integer or a percentage up to 100%');
    if (!ms.ok) e.invalid('spec.strategy.rollingUpdate.maxSurge', ru['maxSurge'], 'must be a non-negative integer or a percentage');
    if (mu.zero && ms.zero) e.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru['maxUnavailable'], 'may not be 0 when `maxSurge` is 0');
  }
  e.nonNegative('spec.revisionHistoryLimit', spec['revisionHistoryLimit']);
  e.nonNegative('spec.minReadySeconds', spec['minReadySeconds']);
  const pds = spec['progressDeadlineSeconds'];
  if (typeof pds === 'number' && typeof spec['minReadySeconds'] === 'number' && pds <= spec['minReadySeconds']) {
    e.invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds');
  }
}

function validateJob(o: JsonObject, e: FieldErrors): void {
  const spec = asRecord(o['spec']) ?? {};
  for (const k of ['parallelism', 'completions', 'backoffLimit']) e.nonNegative(`spec.${k}`, spec[k]);
  validateSelectorAndTemplate(spec, e, ['OnFailure', 'Never']);
  const rp = asRecord(asRecord(spec['template'])?.['spec'])?.['restartPolicy'];
  if (rp === undefined) e.required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"');
  e.oneOf('spec.completionMode', spec['completionMode'], ['NonIndexed', 'Indexed']);
}

function immutable(field: string, n: unknown, old: unknown, e: FieldErrors): void {
  if (!deepEqual(n, old)) e.invalid(field, n, 'field is immutable');
}

// ---------------------------------------------------------------------------------------------
// Services and the rest

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function validateService(o: JsonObject, e: FieldErrors): void {
  const spec = asRecord(o['spec']) ?? {};
  const type = spec['type'] ?? 'ClusterIP';
  e.oneOf('spec.type', type, serviceTypes);
  e.oneOf('spec.sessionAffinity', spec['sessionAffinity'], ['ClientIP', 'None']);
  const ports = records(spec['ports']);
  const headless = spec['clusterIP'] === 'None';
  if (ports.length === 0 && type !== 'ExternalName' && !headless) e.required('spec.ports');
  if (type === 'ExternalName' && (typeof spec['externalName'] !== 'string' || spec['externalName'] === '')) e.required('spec.externalName');
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const pf = `spec.ports[${i}]`;
    const name = p['name'];
    if (ports.length > 1 && (typeof name !== 'string' || name === '')) e.required(`${pf}.name`);
    if (typeof name === 'string' && name !== '') {
      e.check(`${pf}.name`, name, isDns1123Label(name));
      if (names.has(name)) e.duplicate(`${pf}.name`, name);
      names.add(name);
    }
    validatePortNumber(`${pf}.port`, p['port'], e, true);
    e.oneOf(`${pf}.protocol`, p['protocol'], protocols);
    const tp = p['targetPort'];
    if (typeof tp === 'number') validatePortNumber(`${pf}.targetPort`, tp, e, false);
    else if (typeof tp === 'string') validatePortName(`${pf}.targetPort`, tp, e);
    if (p['nodePort'] !== undefined && p['nodePort'] !== 0) {
      if (type === 'ClusterIP') e.forbidden(`${pf}.nodePort`, 'may not be used when `type` is \'ClusterIP\'');
      else validatePortNumber(`${pf}.nodePort`, p['nodePort'], e, false);
    }
    const key = `${String(p['port'])}/${String(p['protocol'] ?? 'TCP')}`;
    if (keys.has(key)) e.duplicate(pf, { port: p['port'], protocol: p['protocol'] ?? 'TCP' });
    keys.add(key);
  });
  validateLabels(spec['selector'], 'spec.selector', e);
}

const dataKeyRe = /^[-._a-zA-Z0-9]+$/;
const maxDataKeyChars = 253;

function validateData(o: JsonObject, fields: readonly string[], e: FieldErrors): void {
  let total = 0;
  const seen = new Set<string>();
  for (const f of fields) {
    for (const [k, v] of Object.entries(asRecord(o[f]) ?? {})) {
      if (!dataKeyRe.test(k) || k.length > maxDataKeyChars) e.invalid(`${f}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
      if (seen.has(k) && f !== 'stringData') e.invalid(`${f}[${k}]`, k, 'duplicate of key present in another data field');
      seen.add(k);
      if (typeof v !== 'string') e.invalid(`${f}[${k}]`, v, 'must be a string');
      else total += v.length;
    }
  }
  if (total > maxConfigMapBytes) e.tooLong(fields[0] ?? 'data', maxConfigMapBytes);
}
function validateSecret(o: JsonObject, e: FieldErrors): void {
  validateData(o, ['data', 'stringData'], e);
  for (const [k, v] of Object.entries(asRecord(o['data']) ?? {})) {
    if (typeof v === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) e.invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data');
  }
}

function validateRbac(o: JsonObject, e: FieldErrors): void {
  const kind = asString(o['kind']) ?? '';
  if (kind === 'Role' || kind === 'ClusterRole') {
    records(o['rules']).forEach((r, i) => {
      if (asArray(r['verbs']).length === 0) e.required(`rules[${i}].verbs`, 'verbs must contain at least one value');
      if (kind === 'Role' && asArray(r['nonResourceURLs']).length > 0) e.invalid(`rules[${i}].nonResourceURLs`, r['nonResourceURLs'], 'namespaced rules cannot apply to non-resource URLs');
    });
    return;
  }
  const ref = asRecord(o['roleRef']) ?? {};
  e.oneOf('roleRef.apiGroup', ref['apiGroup'], ['rbac.authorization.k8s.io'], true);
  e.oneOf('roleRef.kind', ref['kind'], kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'], true);
  if (typeof ref['name'] !== 'string' || ref['name'] === '') e.required('roleRef.name');
  records(o['subjects']).forEach((s, i) => {
    e.oneOf(`subjects[${i}].kind`, s['kind'], ['ServiceAccount', 'User', 'Group'], true);
    if (typeof s['name'] !== 'string' || s['name'] === '') e.required(`subjects[${i}].name`);
    if (s['kind'] === 'ServiceAccount' && kind === 'ClusterRoleBinding' && (typeof s['namespace'] !== 'string' || s['namespace'] === '')) e.required(`subjects[${i}].namespace`);
  });
}

// ---------------------------------------------------------------------------------------------
// Storage, networking, certificates, flow control, admission

const required = (e: FieldErrors, field: string, v: unknown, detail = ''): boolean => {
  if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
    e.required(field, detail);
    return false;
  }
  return true;
};

const accessModeValues = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

function validateAccessModes(field: string, v: unknown, e: FieldErrors): void {
  if (!required(e, field, v, 'at least 1 access mode is required')) return;
  for (const m of asArray(v)) e.oneOf(field, m, accessModeValues);
}

/** The volume sources a PersistentVolume may name (exactly one). */
const pvSources = ['awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'csi', 'fc', 'flexVolume', 'flocker',
  'gcePersistentDisk', 'glusterfs', 'hostPath', 'iscsi', 'local', 'nfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd',
  'scaleIO', 'storageos', 'vsphereVolume'];

function validatePersistentVolume(spec: JsonObject, e: FieldErrors): void {
  validateAccessModes('spec.accessModes', spec['accessModes'], e);
  const capacity = asRecord(spec['capacity']);
  if (capacity === undefined || Object.keys(capacity).length === 0) e.required('spec.capacity');
  else {
    for (const k of Object.keys(capacity)) if (k !== 'storage') e.notSupported(`spec.capacity`, k, ['storage']);
    validateQuantityMap('spec.capacity', capacity, e);
  }
  const sources = pvSources.filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (sources.length === 0) e.required('spec', 'must specify a volume type');
  else if (sources.length > 1) e.forbidden(`spec.${sources[1] ?? ''}`, 'may not specify more than 1 volume type');
  e.oneOf('spec.persistentVolumeReclaimPolicy', spec['persistentVolumeReclaimPolicy'], ['Delete', 'Recycle', 'Retain']);
  e.oneOf('spec.volumeMode', spec['volumeMode'], ['Block', 'Filesystem']);
}

function validatePersistentVolumeClaim(spec: JsonObject, e: FieldErrors): void {
  validateAccessModes('spec.accessModes', spec['accessModes'], e);
  const requests = asRecord(asRecord(spec['resources'])?.['requests']);
  if (requests?.['storage'] === undefined) e.required('spec.resources[storage]');
  else validateQuantityMap('spec.resources.requests', requests, e);
  e.oneOf('spec.volumeMode', spec['volumeMode'], ['Block', 'Filesystem']);
  if (spec['selector'] !== undefined) {
    const r = labelSelectorFromObject(spec['selector']);
    if (!r.ok) e.invalid('spec.selector', spec['selector'], r.error);
  }
}

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateIngressBackend(b: JsonObject, field: string, e: FieldErrors): void {
  const svc = asRecord(b['service']);
  const res = asRecord(b['resource']);
  if (svc === undefined && res === undefined) {
    e.invalid(field, b, 'one backend must be specified');
    return;
  }
  if (svc !== undefined && res !== undefined) e.invalid(field, b, 'cannot set both resource and service backends');
  if (svc !== undefined) {
    const n = svc['name'];
    if (typeof n !== 'string' || n === '') e.required(`${field}.service.name`);
    else e.check(`${field}.service.name`, n, isDns1123Label(n));
    const port = asRecord(svc['port']) ?? {};
    const hasName = typeof port['name'] === 'string' && port['name'] !== '';
    const hasNumber = port['number'] !== undefined && port['number'] !== 0;
    if (hasName === hasNumber) e.invalid(`${field}.service.port`, port, 'port name or number is required');
    else if (hasNumber) validatePortNumber(`${field}.service.port.number`, port['number'], e, true);
    else validatePortName(`${field}.service.port.name`, String(port['name']), e);
  }
  if (res !== undefined) {
    if (typeof res['kind'] !== 'string' || res['kind'] === '') e.required(`${field}.resource.kind`);
    if (typeof res['name'] !== 'string' || res['name'] === '') e.required(`${field}.resource.name`);
  }
}

function validateIngress(spec: JsonObject, e: FieldErrors): void {
  const rules = records(spec['rules']);
  const dflt = asRecord(spec['defaultBackend']);
  if (rules.length === 0 && dflt === undefined) e.invalid('spec', spec, 'either `defaultBackend` or `rules` must be specified');
  if (dflt !== undefined) validateIngressBackend(dflt, 'spec.defaultBackend', e);
  rules.forEach((r, i) => {
    const host = r['host'];
    if (typeof host === 'string' && host !== '') {
      const bare = host.startsWith('*.') ? host.slice(2) : host;
      e.check(`spec.rules[${i}].host`, host, isDns1123Subdomain(bare));
    }
    const http = asRecord(r['http']);
    if (http === undefined) return;
    const paths = records(http['paths']);
    if (paths.length === 0) e.required(`spec.rules[${i}].http.paths`);
    paths.forEach((p, j) => {
      const pf = `spec.rules[${i}].http.paths[${j}]`;
      const pt = p['pathType'];
      e.oneOf(`${pf}.pathType`, pt, pathTypes, true);
      const path = p['path'];
      if ((pt === 'Exact' || pt === 'Prefix') && (typeof path !== 'string' || !path.startsWith('/'))) e.invalid(`${pf}.path`, path ?? '', 'must be an absolute path');
      validateIngressBackend(asRecord(p['backend']) ?? {}, `${pf}.backend`, e);
    });
  });
  records(spec['tls']).forEach((t, i) => {
    asArray(t['hosts']).forEach((h, j) => {
      if (typeof h === 'string' && h !== '') e.check(`spec.tls[${i}].hosts[${j}]`, h, isDns1123Subdomain(h.startsWith('*.') ? h.slice(2) : h));
    });
  });
}

function validateNetworkPolicy(spec: JsonObject, e: FieldErrors): void {
  const r = labelSelectorFromObject(spec['podSelector'] ?? {});
  if (!r.ok) e.invalid('spec.podSelector', spec['podSelector'], r.error);
  const types = asArray(spec['policyTypes']);
  types.forEach((t, i) => e.oneOf(`spec.policyTypes[${i}]`, t, ['Egress', 'Ingress'], true));
  for (const [key, peerKey] of [['ingress', 'from'], ['egress', 'to']] as const) {
    records(spec[key]).forEach((rule, i) => {
      records(rule['ports']).forEach((p, j) => {
        e.oneOf(`spec.${key}[${i}].ports[${j}].protocol`, p['protocol'], protocols);
        if (typeof p['port'] === 'number') validatePortNumber(`spec.${key}[${i}].ports[${j}].port`, p['port'], e, false);
      });
      records(rule[peerKey]).forEach((peer, j) => {
        const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => peer[k] !== undefined);
        if (set.length === 0) e.required(`spec.${key}[${i}].${peerKey}[${j}]`, 'must specify a peer');
        if (peer['ipBlock'] !== undefined && set.length > 1) e.forbidden(`spec.${key}[${i}].${peerKey}[${j}]`, 'may not specify more than 1 peer type');
        const block = asRecord(peer['ipBlock']);
        if (block !== undefined) required(e, `spec.${key}[${i}].${peerKey}[${j}].ipBlock.cidr`, block['cidr']);
      });
    });
  }
}

const keyUsages = ['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment',
  'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection',
  's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc'];

function validateCsr(o: JsonObject, spec: JsonObject, e: FieldErrors): void {
  const request = spec['request'];
  if (required(e, 'spec.request', request)) {
    // Only the PEM framing is checked (upstream parses the DER too).
    const pem = typeof request === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(request) ? Buffer.from(request, 'base64').toString('latin1') : '';
    if (!/-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----/.test(pem)) {
      e.invalid('spec.request', '<request>', 'PEM block type must be CERTIFICATE REQUEST');
    }
  }
  const signer = spec['signerName'];
  if (required(e, 'spec.signerName', signer) && typeof signer === 'string' && !/^[^/]+\/[^/]+$/.test(signer)) {
    e.invalid('spec.signerName', signer, 'must be a fully qualified domain and path of the form \'example.com/signer-name\'');
  }
  if (required(e, 'spec.usages', spec['usages'])) asArray(spec['usages']).forEach((u, i) => e.oneOf(`spec.usages[${i}]`, u, keyUsages));
  const conditions = records(asRecord(o['status'])?.['conditions']);
  const seen = new Set<string>();
  conditions.forEach((c, i) => {
    const type = c['type'];
    if (required(e, `status.conditions[${i}].type`, type) && typeof type === 'string') {
      if ((type === 'Approved' || type === 'Denied') && seen.has(type)) e.duplicate(`status.conditions[${i}].type`, type);
      seen.add(type);
    }
    e.oneOf(`status.conditions[${i}].status`, c['status'], ['False', 'True', 'Unknown'], true);
  });
  if (seen.has('Approved') && seen.has('Denied')) e.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive');
  const exp = spec['expirationSeconds'];
  if (exp !== undefined && exp !== null && (typeof exp !== 'number' || exp < 600)) e.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 600 seconds (10 minutes)');
}

function validateEventsApiEvent(o: JsonObject, e: FieldErrors): void {
  required(e, 'eventTime', o['eventTime']);
  for (const k of ['reportingController', 'reportingInstance', 'action', 'reason']) required(e, k, o[k]);
  e.oneOf('type', o['type'], ['Normal', 'Warning'], true);
  const note = o['note'];
  const maxNoteBytes = 1024;
  if (typeof note === 'string' && note.length > maxNoteBytes) e.tooLong('note', maxNoteBytes);
}

const maxMatchingPrecedence = 10000;

function validateFlowSchema(spec: JsonObject, e: FieldErrors): void {
  required(e, 'spec.priorityLevelConfiguration.name', asRecord(spec['priorityLevelConfiguration'])?.['name']);
  const mp = spec['matchingPrecedence'];
  if (typeof mp !== 'number' || !Number.isInteger(mp) || mp < 1 || mp > maxMatchingPrecedence) {
    e.invalid('spec.matchingPrecedence', mp, `must be between 1 and ${maxMatchingPrecedence}, inclusive`);
  }
  const dm = asRecord(spec['distinguisherMethod']);
  if (dm !== undefined) e.oneOf('spec.distinguisherMethod.type', dm['type'], ['ByNamespace', 'ByUser'], true);
  records(spec['rules']).forEach((r, i) => {
    if (asArray(r['subjects']).length === 0) e.required(`spec.rules[${i}].subjects`, 'subjects must contain at least one value');
    records(r['subjects']).forEach((s, j) => e.oneOf(`spec.rules[${i}].subjects[${j}].kind`, s['kind'], ['Group', 'ServiceAccount', 'User'], true));
  });
}

function validatePriorityLevel(spec: JsonObject, e: FieldErrors): void {
  const type = spec['type'];
  e.oneOf('spec.type', type, ['Exempt', 'Limited'], true);
  const limited = asRecord(spec['limited']);
  if (type === 'Limited' && limited === undefined) e.required('spec.limited', 'must not be empty when type is Limited');
  if (type === 'Exempt' && limited !== undefined) e.forbidden('spec.limited', 'must be nil if the type is not Limited');
  if (limited === undefined) return;
  const response = asRecord(limited['limitResponse']) ?? {};
  e.oneOf('spec.limited.limitResponse.type', response['type'], ['Queue', 'Reject'], true);
  const q = asRecord(response['queuing']);
  if (response['type'] === 'Queue' && q === undefined) e.required('spec.limited.limitResponse.queuing', 'must not be empty if type is Queue');
  if (q !== undefined) {
    for (const k of ['queues', 'handSize', 'queueLengthLimit']) {
      const v = q[k];
      if (typeof v !== 'number' || v <= 0) e.invalid(`spec.limited.limitResponse.queuing.${k}`, v, 'must be positive');
    }
    if (typeof q['handSize'] === 'number' && typeof q['queues'] === 'number' && q['handSize'] > q['queues']) {
      e.invalid('spec.limited.limitResponse.queuing.handSize', q['handSize'], `should not be greater than queues (${String(q['queues'])})`);
    }
  }
}

function validateWebhooks(o: JsonObject, e: FieldErrors): void {
  const names = new Set<string>();
  records(o['webhooks']).forEach((w, i) => {
    const f = `webhooks[${i}]`;
    const n = w['name'];
    if (typeof n !== 'string' || n === '') e.required(`${f}.name`);
    else {
      e.check(`${f}.name`, n, isDns1123Subdomain(n));
      if (n.split('.').length < 3) e.invalid(`${f}.name`, n, 'should be a domain with at least three segments separated by dots');
      if (names.has(n)) e.duplicate(`${f}.name`, n);
      names.add(n);
    }
    e.oneOf(`${f}.sideEffects`, w['sideEffects'], ['None', 'NoneOnDryRun'], true);
    e.oneOf(`${f}.failurePolicy`, w['failurePolicy'], ['Fail', 'Ignore']);
    e.oneOf(`${f}.matchPolicy`, w['matchPolicy'], ['Equivalent', 'Exact']);
    e.oneOf(`${f}.reinvocationPolicy`, w['reinvocationPolicy'], ['IfNeeded', 'Never']);
    if (required(e, `${f}.admissionReviewVersions`, w['admissionReviewVersions'], 'must specify one of v1, v1beta1')) {
      if (!asArray(w['admissionReviewVersions']).some((v) => v === 'v1' || v === 'v1beta1')) {
        e.invalid(`${f}.admissionReviewVersions`, w['admissionReviewVersions'], 'must include at least one of v1, v1beta1');
      }
    }
    const cc = asRecord(w['clientConfig']) ?? {};
    const hasUrl = typeof cc['url'] === 'string' && cc['url'] !== '';
    const svc = asRecord(cc['service']);
    if (hasUrl === (svc !== undefined)) e.required(`${f}.clientConfig`, 'exactly one of url or service is required');
    if (svc !== undefined) {
      required(e, `${f}.clientConfig.service.name`, svc['name']);
      required(e, `${f}.clientConfig.service.namespace`, svc['namespace']);
    }
    const ts = w['timeoutSeconds'];
    if (typeof ts === 'number' && (ts < 1 || ts > 30)) e.invalid(`${f}.timeoutSeconds`, ts, 'the timeout value must be between 1 and 30 seconds');
    records(w['rules']).forEach((r, j) => {
      for (const k of ['operations', 'apiGroups', 'apiVersions', 'resources']) required(e, `${f}.rules[${j}].${k}`, r[k]);
      e.oneOf(`${f}.rules[${j}].scope`, r['scope'], ['*', 'Cluster', 'Namespaced']);
    });
  });
}

function validateReplicationController(spec: JsonObject, e: FieldErrors): void {
  e.nonNegative('spec.replicas', spec['replicas']);
  const selector = asRecord(spec['selector']);
  if (selector === undefined || Object.keys(selector).length === 0) e.required('spec.selector');
  else validateLabels(selector, 'spec.selector', e);
  const tmpl = asRecord(spec['template']);
  if (tmpl === undefined) {
    e.required('spec.template');
    return;
  }
  const labels = asRecord(asRecord(tmpl['metadata'])?.['labels']) ?? {};
  if (selector !== undefined && !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
    e.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`');
  }
  validatePodSpec(tmpl['spec'], 'spec.template.spec', e);
  const rp = asRecord(tmpl['spec'])?.['restartPolicy'];
  if (rp !== undefined && rp !== 'Always') e.notSupported('spec.template.spec.restartPolicy', rp, ['Always']);
}

const quotaScopes = ['BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating', 'VolumeAttributesClass'];
const limitTypes = ['Container', 'PersistentVolumeClaim', 'Pod'];

function validateOther(o: JsonObject, kind: string, e: FieldErrors): void {
  const spec = asRecord(o['spec']) ?? {};
  switch (kind) {
    case 'Pod': validatePodSpec(o['spec'], 'spec', e); break;
    case 'Deployment': validateDeployment(o, e); break;
    case 'ReplicaSet': case 'StatefulSet': e.nonNegative('spec.replicas', spec['replicas']); validateSelectorAndTemplate(spec, e, ['Always']); break;
    case 'DaemonSet': validateSelectorAndTemplate(spec, e, ['Always']); break;
    case 'Job': validateJob(o, e); break;
    case 'Service': validateService(o, e); break;
    case 'ConfigMap': validateData(o, ['data', 'binaryData'], e); break;
    case 'Secret': validateSecret(o, e); break;
    case 'Role': case 'ClusterRole': case 'RoleBinding': case 'ClusterRoleBinding': validateRbac(o, e); break;
    case 'Lease': {
      const d = spec['leaseDurationSeconds'];
      if (d !== undefined && d !== null && (typeof d !== 'number' || d <= 0)) e.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0');
      break;
    }
    case 'CustomResourceDefinition': if (asString(o['apiVersion']) === 'apiextensions.k8s.io/v1') e.list.push(...validateCrd(o)); break;
    case 'PodDisruptionBudget':
      if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined) e.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set');
      break;
    case 'PriorityClass': {
      const v = o['value'];
      const name = asString(asRecord(o['metadata'])?.['name']) ?? '';
      if (typeof v !== 'number' || !Number.isInteger(v)) e.required('value');
      else if (v > maxUserPriority && !name.startsWith('system-')) e.forbidden('value', `maximum allowed value of a user defined priority is ${maxUserPriority}`);
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const ref = asRecord(spec['scaleTargetRef']) ?? {};
      if (typeof ref['kind'] !== 'string' || ref['kind'] === '') e.required('spec.scaleTargetRef.kind');
      if (typeof ref['name'] !== 'string' || ref['name'] === '') e.required('spec.scaleTargetRef.name');
      const max = spec['maxReplicas'];
      const min = spec['minReplicas'] ?? 1;
      if (typeof max !== 'number' || max < 1) e.invalid('spec.maxReplicas', max, 'must be greater than 0');
      else if (typeof min === 'number' && min > max) e.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`');
      if (typeof min === 'number' && min < 1) e.invalid('spec.minReplicas', min, 'must be greater than or equal to 1');
      break;
    }
    case 'EndpointSlice':
      e.oneOf('addressType', o['addressType'], ['IPv4', 'IPv6', 'FQDN'], true);
      break;
    case 'Node':
      records(spec['taints']).forEach((t, i) => {
        if (typeof t['key'] !== 'string' || t['key'] === '') e.required(`spec.taints[${i}].key`);
        e.oneOf(`spec.taints[${i}].effect`, t['effect'], ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], true);
      });
      break;
    case 'ResourceQuota':
      validateQuantityMap('spec.hard', spec['hard'], e);
      asArray(spec['scopes']).forEach((sc, i) => e.oneOf(`spec.scopes[${i}]`, sc, quotaScopes, true));
      break;
    case 'LimitRange':
      records(spec['limits']).forEach((l, i) => {
        e.oneOf(`spec.limits[${i}].type`, l['type'], limitTypes, true);
        for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) validateQuantityMap(`spec.limits[${i}].${k}`, l[k], e);
      });
      break;
    case 'PodTemplate': {
      const tmpl = asRecord(o['template']) ?? {};
      validateLabels(asRecord(tmpl['metadata'])?.['labels'], 'template.metadata.labels', e);
      validatePodSpec(tmpl['spec'], 'template.spec', e);
      break;
    }
    case 'ReplicationController': validateReplicationController(spec, e); break;
    case 'PersistentVolume': validatePersistentVolume(spec, e); break;
    case 'PersistentVolumeClaim': validatePersistentVolumeClaim(spec, e); break;
    case 'StorageClass':
      required(e, 'provisioner', o['provisioner']);
      e.oneOf('reclaimPolicy', o['reclaimPolicy'], ['Delete', 'Retain']);
      e.oneOf('volumeBindingMode', o['volumeBindingMode'], ['Immediate', 'WaitForFirstConsumer']);
      break;
    case 'CSIDriver':
      e.oneOf('spec.fsGroupPolicy', spec['fsGroupPolicy'], ['File', 'None', 'ReadWriteOnceWithFSType']);
      asArray(spec['volumeLifecycleModes']).forEach((m, i) => e.oneOf(`spec.volumeLifecycleModes[${i}]`, m, ['Ephemeral', 'Persistent'], true));
      break;
    case 'CSINode':
      records(spec['drivers']).forEach((d, i) => {
        required(e, `spec.drivers[${i}].name`, d['name']);
        required(e, `spec.drivers[${i}].nodeID`, d['nodeID']);
      });
      break;
    case 'VolumeAttachment': {
      required(e, 'spec.attacher', spec['attacher']);
      required(e, 'spec.nodeName', spec['nodeName']);
      const src = asRecord(spec['source']) ?? {};
      const n = ['persistentVolumeName', 'inlineVolumeSpec'].filter((k) => src[k] !== undefined && src[k] !== null).length;
      if (n !== 1) e.required('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName');
      break;
    }
    case 'RuntimeClass': {
      const h = o['handler'];
      if (required(e, 'handler', h) && typeof h === 'string') e.check('handler', h, isDns1123Label(h));
      break;
    }
    case 'Ingress': validateIngress(spec, e); break;
    case 'IngressClass': required(e, 'spec.controller', spec['controller']); break;
    case 'NetworkPolicy': validateNetworkPolicy(spec, e); break;
    case 'ControllerRevision': e.nonNegative('revision', o['revision']); break;
    case 'CertificateSigningRequest': validateCsr(o, spec, e); break;
    case 'FlowSchema': validateFlowSchema(spec, e); break;
    case 'PriorityLevelConfiguration': validatePriorityLevel(spec, e); break;
    case 'MutatingWebhookConfiguration': case 'ValidatingWebhookConfiguration': validateWebhooks(o, e); break;
    case 'Event': {
      if (o['apiVersion'] === 'events.k8s.io/v1') {
        validateEventsApiEvent(o, e);
        break;
      }
      const io = asRecord(o['involvedObject']) ?? {};
      const ns = asString(asRecord(o['metadata'])?.['namespace']);
      if (typeof io['namespace'] === 'string' && io['namespace'] !== '' && ns !== undefined && io['namespace'] !== ns) {
        e.invalid('involvedObject.namespace', io['namespace'], 'does not match event.namespace');
      }
      break;
    }
    default: break;
  }
}

/** Validation on create (after defaulting). */
export function validateCreate(o: JsonObject): FieldCause[] {
  const e = new FieldErrors();
  validateMeta(o, e);
  validateOther(o, asString(o['kind']) ?? '', e);
  return e.list;
}

const statefulSetMutableSpec = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

/** Validation on update: the object itself, immutable metadata, and per-kind immutable fields. */
export function validateUpdate(n: JsonObject, old: JsonObject): FieldCause[] {
  const e = new FieldErrors();
  validateMeta(n, e);
  validateMetaUpdate(n, old, e);
  const kind = asString(n['kind']) ?? '';
  validateOther(n, kind, e);
  if (kind === 'CustomResourceDefinition' && asString(n['apiVersion']) === 'apiextensions.k8s.io/v1') e.list.push(...validateCrdUpdate(n, old));
  const ns = asRecord(n['spec']) ?? {};
  const os = asRecord(old['spec']) ?? {};
  switch (kind) {
    case 'Pod': validatePodSpecUpdate(n, old, e); break;
    case 'Deployment': case 'ReplicaSet': case 'DaemonSet': immutable('spec.selector', ns['selector'], os['selector'], e); break;
    case 'StatefulSet': {
      const strip = (s: JsonObject): JsonObject => Object.fromEntries(Object.entries(s).filter(([k]) => !statefulSetMutableSpec.includes(k)));
      if (!deepEqual(strip(ns), strip(os))) {
        e.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
      }
      break;
    }
    case 'Job':
      immutable('spec.selector', ns['selector'], os['selector'], e);
      immutable('spec.template', ns['template'], os['template'], e);
      immutable('spec.completions', ns['completions'], os['completions'], e);
      immutable('spec.completionMode', ns['completionMode'], os['completionMode'], e);
      break;
    case 'Service': {
      const oldIp = os['clusterIP'];
      if (typeof oldIp === 'string' && oldIp !== '' && ns['type'] !== 'ExternalName') immutable('spec.clusterIP', ns['clusterIP'], oldIp, e);
      break;
    }
    case 'RoleBinding': case 'ClusterRoleBinding':
      if (!deepEqual(n['roleRef'], old['roleRef'])) e.invalid('roleRef', n['roleRef'], 'cannot change roleRef');
      break;
    case 'EndpointSlice': immutable('addressType', n['addressType'], old['addressType'], e); break;
    case 'ConfigMap': case 'Secret':
      if (old['immutable'] === true) {
        for (const f of ['data', 'binaryData', 'stringData', 'type']) {
          if (f !== 'stringData' && !deepEqual(n[f], old[f])) e.forbidden(f, `field is immutable when \`immutable\` is set`);
        }
        if (n['immutable'] !== true) e.forbidden('immutable', 'field is immutable when `immutable` is set');
      }
      break;
    case 'PriorityClass': immutable('value', n['value'], old['value'], e); break;
    case 'PersistentVolumeClaim': immutable('spec.storageClassName', ns['storageClassName'], os['storageClassName'], e); break;
    case 'StorageClass':
      for (const f of ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode']) immutable(f, n[f], old[f], e);
      break;
    case 'VolumeAttachment': immutable('spec', n['spec'], old['spec'], e); break;
    case 'RuntimeClass': immutable('handler', n['handler'], old['handler'], e); break;
    case 'ControllerRevision': immutable('data', n['data'], old['data'], e); break;
    case 'CertificateSigningRequest': immutable('spec', n['spec'], old['spec'], e); break;
    default: break;
  }
  return e.list;
}

/** The 422 reply for a failed validation. */
export function invalidStatus(o: JsonObject, causes: readonly FieldCause[]): Status {
  const { group } = splitApiVersion(asString(o['apiVersion']) ?? '');
  const meta = asRecord(o['metadata']) ?? {};
  const name = asString(meta['name']) ?? asString(meta['generateName']) ?? '';
  return invalid(group, asString(o['kind']) ?? '', name, causes);
}
