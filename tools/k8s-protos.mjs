// Writes src/apiserver/proto/**/generated.proto: upstream's protobuf schemas for the kinds pocketkube
// serves, trimmed to the messages those kinds reach, with upstream's package, message, field names
// and numbers, plus the two facts the wire does not carry and the JSON form needs (see `pk.*` below).
//
// Source: the kubectl binary itself (1.32, the client that sends these bodies). Its k8s.io/api and
// apimachinery packages register their generated.proto as gzipped FileDescriptorProtos, and its Go
// type data holds every API struct's fields with their json/protobuf tags and Go kinds.
//
//   node tools/k8s-protos.mjs [path/to/kubectl]
//
// apiregistration.k8s.io (kube-aggregator) is not linked into kubectl: its file is hand-written
// (src/apiserver/proto/k8s.io/kube-aggregator/...) and left alone here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const kubectl = process.argv[2] ?? execFileSync('sh', ['-c', 'readlink -f "$(command -v kubectl)"'], { encoding: 'utf8' }).trim();
const outDir = 'src/apiserver/proto';
const bin = readFileSync(kubectl);

/** The messages of the kinds served (and the bodies of their subresources). */
const roots = {
  'k8s.io.api.core.v1': ['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'ServiceAccount', 'Event',
    'ResourceQuota', 'LimitRange', 'PodTemplate', 'ReplicationController', 'PersistentVolume', 'PersistentVolumeClaim', 'Binding',
    'ComponentStatus'],
  'k8s.io.api.apps.v1': ['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'ControllerRevision'],
  'k8s.io.api.batch.v1': ['Job', 'CronJob'],
  'k8s.io.api.coordination.v1': ['Lease'],
  'k8s.io.api.discovery.v1': ['EndpointSlice'],
  'k8s.io.api.policy.v1': ['PodDisruptionBudget', 'Eviction'],
  'k8s.io.api.rbac.v1': ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'],
  'k8s.io.api.scheduling.v1': ['PriorityClass'],
  'k8s.io.api.autoscaling.v1': ['Scale'],
  'k8s.io.api.autoscaling.v2': ['HorizontalPodAutoscaler'],
  'k8s.io.api.storage.v1': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment'],
  'k8s.io.api.node.v1': ['RuntimeClass'],
  'k8s.io.api.networking.v1': ['Ingress', 'IngressClass', 'NetworkPolicy'],
  'k8s.io.api.certificates.v1': ['CertificateSigningRequest'],
  'k8s.io.api.events.v1': ['Event'],
  'k8s.io.api.flowcontrol.v1': ['FlowSchema', 'PriorityLevelConfiguration'],
  'k8s.io.api.admissionregistration.v1': ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'],
  'k8s.io.api.authentication.v1': ['TokenReview', 'TokenRequest'],
  'k8s.io.api.authorization.v1': ['SubjectAccessReview', 'SelfSubjectAccessReview', 'LocalSubjectAccessReview', 'SelfSubjectRulesReview'],
  'k8s.io.metrics.pkg.apis.metrics.v1beta1': ['PodMetrics', 'NodeMetrics'],
  'k8s.io.apimachinery.pkg.apis.meta.v1': ['DeleteOptions'],
  // The envelope every protobuf body comes in.
  'k8s.io.apimachinery.pkg.runtime': ['Unknown'],
};

// ---- 1. the FileDescriptorProtos kubectl registers -------------------------------------------

const files = new Map();
for (let i = bin.indexOf(gzipMagic()); i >= 0; i = bin.indexOf(gzipMagic(), i + 1)) {
  let raw;
  try {
    // Raw inflate of the one member: gunzip would run on into the next file's member.
    raw = inflateRawSync(bin.subarray(i + 10, i + 4_000_000), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    continue;
  }
  if (raw[0] !== 0x0a) continue;
  const name = raw.subarray(2, 2 + raw[1]).toString('latin1');
  if (!/^k8s\.io\/.*generated\.proto$/.test(name)) continue;
  const fd = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(raw), { defaults: false });
  files.set(fd.package, fd);
}
function gzipMagic() { return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]); }

// ---- 2. Go struct fields: json tag and whether the field is a pointer --------------------------

const elf = sections(bin);
const ro = elf.get('.rodata');
const inRo = (va) => va >= ro.addr && va < ro.addr + ro.size;
const at = (va) => va - ro.addr + ro.offset;
const u64 = (va) => Number(bin.readBigUInt64LE(at(va)));
function varint(o) {
  let r = 0;
  let s = 0;
  let b;
  do { b = bin[o++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80);
  return [r, o];
}
/** runtime/internal/abi Name: flags byte, varint length, bytes, then (if flag 2) varint tag length, tag. */
function goName(va) {
  const o = at(va);
  const flags = bin[o];
  const [n, p] = varint(o + 1);
  const text = bin.toString('latin1', p, p + n);
  if ((flags & 2) === 0) return { text, tag: '' };
  const [tn, q] = varint(p + n);
  return { text, tag: bin.toString('latin1', q, q + tn) };
}
const kindStruct = 25;
const kindPointer = 22;
/** goStructs['k8s.io/api/apps/v1.DeploymentSpec'][protoNumber] = { json, omitempty, inline, pointer }. */
const goStructs = new Map();
for (let va = ro.addr; va + 96 < ro.addr + ro.size; va += 8) {
  // abi.StructType: Type (48 bytes; Kind at 23, TFlag at 20, Str nameOff at 40), PkgPath, Fields slice; then UncommonType.
  const o = at(va);
  if ((bin[o + 23] & 0x1f) !== kindStruct) continue;
  const fieldsPtr = u64(va + 56);
  const len = u64(va + 64);
  if (!inRo(fieldsPtr) || len !== u64(va + 72) || len === 0 || len > 400) continue;
  const tflag = bin[o + 20];
  const strOff = bin.readInt32LE(o + 40);
  if ((tflag & 1) === 0 || strOff <= 0 || strOff > ro.size) continue;
  const pkgOff = bin.readInt32LE(o + 80);
  if (pkgOff <= 0 || pkgOff > ro.size) continue;
  let typeName = goName(ro.addr + strOff).text;
  if (tflag & 2) typeName = typeName.slice(1);
  const pkg = goName(ro.addr + pkgOff).text;
  if (!pkg.startsWith('k8s.io/')) continue;
  const fields = {};
  for (let f = 0; f < len; f++) {
    const nameVa = u64(fieldsPtr + f * 24);
    const typeVa = u64(fieldsPtr + f * 24 + 8);
    if (!inRo(nameVa) || !inRo(typeVa)) break;
    const { tag } = goName(nameVa);
    const proto = /protobuf:"[a-z0-9]+,(\d+),/.exec(tag);
    const json = /json:"([^"]*)"/.exec(tag);
    if (!proto || !json) continue;
    const [jsonName, ...flags] = json[1].split(',');
    fields[proto[1]] = { json: jsonName, omitempty: flags.includes('omitempty'), inline: flags.includes('inline'),
      pointer: (bin[at(typeVa) + 23] & 0x1f) === kindPointer };
  }
  goStructs.set(`${pkg}.${typeName.slice(typeName.indexOf('.') + 1)}`, fields);
}

function sections(buf) {
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const hdr = (i) => shoff + i * shentsize;
  const strtab = Number(buf.readBigUInt64LE(hdr(shstrndx) + 0x18));
  const out = new Map();
  for (let i = 0; i < shnum; i++) {
    const h = hdr(i);
    const nameAt = strtab + buf.readUInt32LE(h);
    const name = buf.toString('latin1', nameAt, buf.indexOf(0, nameAt));
    out.set(name, { addr: Number(buf.readBigUInt64LE(h + 0x10)), offset: Number(buf.readBigUInt64LE(h + 0x18)), size: Number(buf.readBigUInt64LE(h + 0x20)) });
  }
  return out;
}

// ---- 3. reachable messages, then one trimmed file per package ---------------------------------

const messageByName = new Map();
for (const [pkg, fd] of files) for (const m of fd.messageType ?? []) messageByName.set(`${pkg}.${m.name}`, { pkg, m });
const keep = new Set();
const queue = Object.entries(roots).flatMap(([pkg, names]) => names.map((n) => `${pkg}.${n}`));
while (queue.length > 0) {
  const full = queue.pop();
  if (keep.has(full)) continue;
  const found = messageByName.get(full);
  if (!found) throw new Error(`no message ${full} in kubectl's descriptors`);
  keep.add(full);
  for (const f of found.m.field ?? []) {
    if (f.typeName === undefined) continue;
    const ref = f.typeName.slice(1);
    const entry = (found.m.nestedType ?? []).find((n) => `${full}.${n.name}` === ref);
    if (entry) {
      const v = entry.field.find((x) => x.number === 2);
      if (v.typeName !== undefined) queue.push(v.typeName.slice(1));
    } else queue.push(ref);
  }
}

const scalar = { 1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 8: 'bool', 9: 'string', 12: 'bytes', 13: 'uint32', 17: 'sint32', 18: 'sint64' };
const typeOf = (f) => (f.typeName !== undefined ? f.typeName.slice(1) : scalar[f.type] ?? fail(`field type ${f.type}`));
function fail(why) { throw new Error(why); }
const goPkgOf = (pkg) => `k8s.io/${pkg.slice('k8s.io.'.length).replace(/\./g, '/')}`;
const notes = [];

for (const [pkg, fd] of files) {
  const messages = (fd.messageType ?? []).filter((m) => keep.has(`${pkg}.${m.name}`));
  if (messages.length === 0) continue;
  const deps = new Set();
  const body = [];
  for (const m of messages.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    // Special messages (time, quantity...) have custom JSON forms: their Go tags say nothing useful.
    const go = isSpecial(pkg, m) ? undefined : goStructs.get(`${goPkgOf(pkg)}.${m.name}`);
    if (!go && !isSpecial(pkg, m)) notes.push(`no Go struct for ${pkg}.${m.name}: JSON names = proto names, zero values omitted`);
    body.push(`message ${m.name} {`);
    for (const f of [...(m.field ?? [])].sort((a, b) => a.number - b.number)) {
      const entry = f.typeName === undefined ? undefined : (m.nestedType ?? []).find((n) => f.typeName === `.${pkg}.${m.name}.${n.name}`);
      let decl;
      if (entry) {
        const [k, v] = [1, 2].map((n) => entry.field.find((x) => x.number === n));
        decl = `map<${typeOf(k)}, ${typeOf(v)}> ${f.name} = ${f.number}`;
        if (v.typeName !== undefined) deps.add(v.typeName.slice(1));
      } else {
        const label = f.label === 3 ? 'repeated' : f.label === 2 ? 'required' : 'optional';
        decl = `${label} ${typeOf(f)} ${f.name} = ${f.number}`;
        if (f.typeName !== undefined) deps.add(f.typeName.slice(1));
      }
      const opts = [];
      const g = go?.[f.number];
      if (go && !g) notes.push(`${pkg}.${m.name}.${f.name}: no Go field tagged ${f.number}`);
      if (g?.inline) opts.push('(pk.inline) = true');
      else if (g && g.json !== f.name) opts.push(`(pk.json) = "${g.json}"`);
      const isScalar = f.typeName === undefined && f.label !== 3 && !entry;
      if (g && isScalar && (g.pointer || !g.omitempty)) opts.push('(pk.keep_zero) = true');
      body.push(`  ${decl}${opts.length > 0 ? ` [${opts.join(', ')}]` : ''};`);
    }
    body.push('}', '');
  }
  const imports = [...new Set([...deps].map((d) => messageByName.get(d)?.pkg).filter((p) => p !== undefined && p !== pkg))]
    .sort().map((p) => `import "${files.get(p).name}";`);
  const text = [
    '// Generated by tools/k8s-protos.mjs from kubectl 1.32\'s registered descriptor of',
    `// ${fd.name}: upstream names and numbers, trimmed to the messages served kinds reach.`,
    '// Options (read by src/apiserver/protobuf.ts; the wire does not carry them, Go struct tags do):',
    '//   (pk.keep_zero): a zero value here is data in JSON (a Go pointer, or a field without omitempty);',
    '//                   other zero scalars are dropped, as JSON\'s omitempty drops them.',
    '//   (pk.inline):    the message\'s fields sit in the parent\'s JSON object (json:",inline").',
    '//   (pk.json):      the JSON name, where it differs from the proto field name.',
    'syntax = "proto2";',
    '',
    `package ${pkg};`,
    '',
    ...imports,
    ...(imports.length > 0 ? [''] : []),
    ...body,
  ].join('\n');
  const path = join(outDir, fd.name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text.trimEnd() + '\n');
  console.log(`${path}: ${messages.length} messages`);
}
for (const n of notes) console.log(`note: ${n}`);

/** Messages whose JSON form src/apiserver/protobuf.ts computes itself (time, quantity, int-or-string, raw JSON). */
function isSpecial(pkg, m) {
  return ['Time', 'MicroTime', 'Duration', 'FieldsV1', 'Quantity', 'IntOrString', 'RawExtension'].includes(m.name) ||
    ((m.field ?? []).length === 1 && m.field[0].name === 'items' && m.field[0].number === 1);
}
