/** The OpenAPI document builder: built-in and custom schemas, paths, hashes, v2 dialect, content negotiation. */
import test from 'ava';
import { resources, type ResourceInfo } from '../../src/api/index.js';
import { openApiResponse } from '../../src/apiserver/discovery.js';
import {
  builtinDefinitions, documentHash, groupVersionOpenApi, OpenApiDocuments, openApiV2Document, openApiV3Root, preferredOpenApiType, type Schema,
} from '../../src/apiserver/openapi.js';

const widget = (colourType: string): ResourceInfo => ({
  group: 'toys.example.com', version: 'v1', kind: 'Widget', listKind: 'WidgetList', resource: 'widgets', singular: 'widget',
  namespaced: true, shortNames: [], categories: [], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  hasStatus: false, subresources: [],
  custom: { crdName: 'widgets.toys.example.com', columns: [], schema: { type: 'object', properties: { spec: { type: 'object', properties: { colour: { type: colourType } } } } } as never },
});

const schemasOf = (doc: Schema | undefined): Record<string, Schema> => (doc?.['components'] as { schemas: Record<string, Schema> }).schemas;

function refsIn(value: unknown, out: string[] = []): string[] {
  JSON.stringify(value, (k, v: unknown) => {
    if (k === '$ref' && typeof v === 'string') out.push(v);
    return v;
  });
  return out;
}

test('every served built-in kind has a schema carrying its group-version-kind, and every $ref resolves', (t) => {
  for (const info of resources) {
    const doc = groupVersionOpenApi(info.group, info.version, resources);
    const schemas = schemasOf(doc);
    const own = Object.values(schemas).filter((s) => (s['x-kubernetes-group-version-kind'] as Array<Record<string, string>> | undefined)
      ?.some((g) => g['group'] === info.group && g['version'] === info.version && g['kind'] === info.kind));
    t.is(own.length, 1, `${info.group}/${info.version} ${info.kind}`);
    for (const ref of refsIn(doc)) t.truthy(schemas[ref.replace('#/components/schemas/', '')], `${info.kind}: ${ref}`);
  }
});

test('Deployment: upstream names, 1.32 fields with types, descriptions and required fields', (t) => {
  const schemas = schemasOf(groupVersionOpenApi('apps', 'v1', resources));
  const spec = schemas['io.k8s.api.apps.v1.DeploymentSpec'];
  const props = spec?.['properties'] as Record<string, Schema>;
  t.deepEqual({ type: props['replicas']?.['type'], format: props['replicas']?.['format'] }, { type: 'integer', format: 'int32' });
  t.regex(String(props['replicas']?.['description']), /^Number of desired pods/);
  t.deepEqual(props['template'], { $ref: '#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec' });
  t.deepEqual(spec?.['required'], ['selector', 'template']);
  const deployment = schemas['io.k8s.api.apps.v1.Deployment'];
  t.deepEqual(deployment?.['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
  t.deepEqual(Object.keys(deployment?.['properties'] as object), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  // The Scale subresource's kind comes along with its own group-version-kind.
  t.deepEqual(schemas['io.k8s.api.autoscaling.v1.Scale']?.['x-kubernetes-group-version-kind'], [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }]);
  // The doc comments' escapes are undone (`\'` in the .d.ts is `'`).
  t.false(JSON.stringify(builtinDefinitions()).includes("\\\\'"));
  t.regex(JSON.stringify(builtinDefinitions()['io.k8s.api.core.v1.Container']), /The container image's CMD/);
  // Inlined Go structs (Volume's VolumeSource) put their fields in the parent.
  t.truthy((builtinDefinitions()['io.k8s.api.core.v1.Volume']?.['properties'] as Record<string, unknown>)['configMap']);
  const paths = groupVersionOpenApi('apps', 'v1', resources)?.['paths'] as Record<string, Record<string, Schema>>;
  const patch = paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']?.['patch'];
  t.deepEqual(patch?.['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  t.true((patch?.['parameters'] as Array<{ name: string }>).some((p) => p.name === 'fieldValidation'));
  t.truthy((patch?.['requestBody'] as { content: Record<string, unknown> }).content['application/strategic-merge-patch+json']);
});

test('a CRD: its structural schema under its group-version, ObjectMeta metadata, a hash that follows the schema', (t) => {
  const served = [...resources, widget('string')];
  const doc = groupVersionOpenApi('toys.example.com', 'v1', served);
  const schemas = schemasOf(doc);
  const w = schemas['com.example.toys.v1.Widget'];
  t.deepEqual(w?.['x-kubernetes-group-version-kind'], [{ group: 'toys.example.com', version: 'v1', kind: 'Widget' }]);
  const props = w?.['properties'] as Record<string, Schema>;
  t.deepEqual(props['metadata'], { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' });
  t.is(props['kind']?.['type'], 'string');
  t.truthy(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  const patch = (doc?.['paths'] as Record<string, Record<string, Schema>>)['/apis/toys.example.com/v1/namespaces/{namespace}/widgets/{name}']?.['patch'];
  t.falsy((patch?.['requestBody'] as { content: Record<string, unknown> }).content['application/strategic-merge-patch+json']);
  t.is(groupVersionOpenApi('toys.example.com', 'v1', resources), undefined);

  const root = openApiV3Root(served)['paths'] as Record<string, { serverRelativeURL: string }>;
  t.is(root['apis/toys.example.com/v1']?.serverRelativeURL, `/openapi/v3/apis/toys.example.com/v1?hash=${documentHash(doc as Schema)}`);
  t.regex(root['api/v1']?.serverRelativeURL ?? '', /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
  const changed = openApiV3Root([...resources, widget('integer')])['paths'] as Record<string, { serverRelativeURL: string }>;
  t.not(changed['apis/toys.example.com/v1']?.serverRelativeURL, root['apis/toys.example.com/v1']?.serverRelativeURL);
  t.is(changed['apis/apps/v1']?.serverRelativeURL, root['apis/apps/v1']?.serverRelativeURL);
});

test('v2: Swagger 2.0 refs and no oneOf', (t) => {
  const doc = openApiV2Document(resources);
  t.is(doc['swagger'], '2.0');
  const defs = doc['definitions'] as Record<string, Schema>;
  t.deepEqual(defs['io.k8s.apimachinery.pkg.api.resource.Quantity'], { type: 'string' });
  for (const ref of refsIn(doc)) t.truthy(defs[ref.replace('#/definitions/', '')], ref);
  t.false(JSON.stringify(doc).includes('"oneOf"'));
  t.false(JSON.stringify(doc).includes('#/components/'));
});

test('content negotiation: JSON when allowed, v2 protobuf stays an empty document, v3 has no protobuf (406)', (t) => {
  t.is(preferredOpenApiType(undefined), 'json');
  t.is(preferredOpenApiType('*/*'), 'json');
  t.is(preferredOpenApiType('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
  t.is(preferredOpenApiType('application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.5, application/json'), 'json');
  t.is(preferredOpenApiType('application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json'), 'protobuf');
  t.is(preferredOpenApiType('text/html'), undefined);
  const served: ResourceInfo[] = [];
  let key = 1;
  const docs = new OpenApiDocuments(() => ({ key, custom: served }));
  const pb = openApiResponse('/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', docs);
  t.deepEqual([pb.status, pb.contentType, (pb.body as Uint8Array).length], [200, 'application/octet-stream', 0]);
  t.is(openApiResponse('/openapi/v3/apis/apps/v1', 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf', docs).status, 406);
  t.is(openApiResponse('/openapi/v3/apis/nope/v1', 'application/json', docs).status, 404);
  t.is(openApiResponse('/openapi/v3/apis/toys.example.com/v1', 'application/json', docs).status, 404);
  served.push(widget('string'));
  key = 2;
  const r = openApiResponse('/openapi/v3/apis/toys.example.com/v1', 'application/json', docs);
  t.is(r.status, 200);
  t.truthy(schemasOf(r.body as Schema)['com.example.toys.v1.Widget']);
});

test('strategic merge patch metadata as upstream tags it: keyed lists carry their merge key; every PATCH of a built-in kind, status too, accepts strategic merge', (t) => {
  const props = (def: string) => builtinDefinitions()[def]?.['properties'] as Record<string, Schema>;
  const meta = (def: string, property: string) => {
    const p = props(def)[property]!;
    return [p['x-kubernetes-patch-strategy'], p['x-kubernetes-patch-merge-key']];
  };
  t.deepEqual(meta('io.k8s.api.core.v1.PodSpec', 'containers'), ['merge', 'name']);
  t.deepEqual(meta('io.k8s.api.core.v1.PodSpec', 'volumes'), ['merge', 'name']);
  t.deepEqual(meta('io.k8s.api.core.v1.Container', 'ports'), ['merge', 'containerPort']);
  t.deepEqual(meta('io.k8s.api.core.v1.Container', 'env'), ['merge', 'name']);
  t.deepEqual(meta('io.k8s.api.core.v1.Container', 'volumeMounts'), ['merge', 'mountPath']);
  t.deepEqual(meta('io.k8s.api.core.v1.ServiceSpec', 'ports'), ['merge', 'port']);
  t.deepEqual(meta('io.k8s.api.apps.v1.DeploymentStatus', 'conditions'), ['merge', 'type']);
  t.deepEqual(meta('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'finalizers'), ['merge', undefined]);
  t.deepEqual(meta('io.k8s.api.core.v1.PodSpec', 'tolerations'), [undefined, undefined], 'atomic lists carry nothing');

  // kubectl apply looks at one PATCH path of the kind, whichever its Go map yields first.
  const paths = groupVersionOpenApi('apps', 'v1', resources)?.['paths'] as Record<string, Record<string, Schema>>;
  const deploymentPatches = Object.entries(paths).filter(([, ops]) => {
    const gvk = ops['patch']?.['x-kubernetes-group-version-kind'] as Record<string, string> | undefined;
    return gvk?.['kind'] === 'Deployment';
  });
  t.true(deploymentPatches.length >= 2, 'the object and its status');
  for (const [path, ops] of deploymentPatches) {
    const content = (ops['patch']!['requestBody'] as { content?: Record<string, unknown> } | undefined)?.content ?? {};
    t.truthy(content['application/strategic-merge-patch+json'], path);
  }
});
