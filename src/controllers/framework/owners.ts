/**
 * Ownership (pkg/controller/controller_ref_manager.go and the handlers' controllerRef lookups):
 * which objects a controller claims, adopts and releases, and how a dependent's event finds its
 * controller. Adoption and release are strategic-merge patches of metadata.ownerReferences that
 * carry the dependent's uid, so they fail rather than touch a recreated namesake.
 */
import {
  controllerRefOf, labelSelectorFromObject, matchesLabels, ownerReferencesOf, type KubeObject, type LabelSelectorReqs, type OwnerReference,
} from '../../api/index.js';
import { objectKey } from '../../client/cache.js';
import type { ApiAction, CacheView, IndexFunc, KindRef } from './types.js';

/** Index: the uid of an object's controller (ownerReference with controller=true). */
export const controllerUidIndex = 'controller-uid';
/** Index: every owner uid (the garbage collector's graph). */
export const ownerUidIndex = 'owner-uid';

export const indexByControllerUid: IndexFunc = (obj) => {
  const ref = controllerRefOf(obj);
  return ref === undefined ? [] : [ref.uid];
};

export const indexByOwnerUid: IndexFunc = (obj) => ownerReferencesOf(obj).map((r) => r.uid);

/** The selector of a controller's spec.selector; invalid or absent selects nothing (upstream refuses them). */
export function specSelector(obj: KubeObject): LabelSelectorReqs | 'nothing' {
  const spec = obj['spec'];
  const r = labelSelectorFromObject(typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>)['selector'] : undefined);
  return r.ok ? r.value : 'nothing';
}

function selectorMatches(sel: LabelSelectorReqs | 'nothing', obj: KubeObject): boolean {
  return sel !== 'nothing' && matchesLabels(sel, obj.metadata?.labels);
}

function isBeingDeleted(obj: KubeObject): boolean {
  return obj.metadata?.deletionTimestamp !== undefined;
}

/**
 * The controller `ref` points at, if it is in the cache as that kind with that uid (upstream
 * resolveControllerRef: a name match with another uid is a different, newer object).
 */
export function resolveControllerRef<T extends KubeObject>(cache: CacheView, kind: KindRef, namespace: string | undefined, ref: OwnerReference | undefined): T | undefined {
  if (ref === undefined || ref.kind !== kind.kind || groupOf(ref.apiVersion) !== groupOf(kind.apiVersion)) return undefined;
  const owner = cache.get<T>(kind, namespace === undefined ? ref.name : `${namespace}/${ref.name}`);
  return owner !== undefined && owner.metadata?.uid === ref.uid ? owner : undefined;
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

export function controllerRefFor(owner: KubeObject, kind: KindRef): OwnerReference {
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (name === undefined || uid === undefined) throw new Error('a controller reference needs the owner\'s name and uid');
  return { apiVersion: kind.apiVersion, kind: kind.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export interface Claim<T extends KubeObject> {
  /** Owned and matching, plus orphans adopted by `actions` (counted as ours, as upstream). */
  readonly claimed: readonly T[];
  /** Adoption and release patches. */
  readonly actions: readonly ApiAction[];
}

/**
 * ClaimObjects: candidates are the dependents in the owner's namespace. Owned and matching:
 * claimed. Owned but no longer matching: released (unless the owner is being deleted). Orphans
 * that match and are not terminating: adopted (unless the owner is being deleted).
 */
export function claimObjects<T extends KubeObject>(owner: KubeObject, ownerKind: KindRef, dependentKind: KindRef, candidates: readonly T[]): Claim<T> {
  const uid = owner.metadata?.uid;
  if (uid === undefined) throw new Error('claimObjects: owner without uid');
  const sel = specSelector(owner);
  const ownerDeleting = isBeingDeleted(owner);
  const claimed: T[] = [];
  const actions: ApiAction[] = [];
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    const matches = selectorMatches(sel, obj);
    if (ref !== undefined) {
      if (ref.uid !== uid) continue;
      if (matches) claimed.push(obj);
      else if (!ownerDeleting) actions.push(releasePatch(dependentKind, obj, uid));
      continue;
    }
    if (ownerDeleting || !matches || isBeingDeleted(obj)) continue;
    actions.push(adoptPatch(dependentKind, obj, controllerRefFor(owner, ownerKind)));
    claimed.push(obj);
  }
  return { claimed, actions };
}

function adoptPatch(kind: KindRef, obj: KubeObject, ref: OwnerReference): ApiAction {
  return {
    type: 'patch', resource: kind, namespace: obj.metadata?.namespace, name: nameOf(obj), patchType: 'strategic',
    patch: { metadata: { ownerReferences: [{ ...ref }], uid: obj.metadata?.uid } },
  };
}

function releasePatch(kind: KindRef, obj: KubeObject, ownerUid: string): ApiAction {
  return {
    type: 'patch', resource: kind, namespace: obj.metadata?.namespace, name: nameOf(obj), patchType: 'strategic',
    patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata?.uid } },
  };
}

export function nameOf(obj: KubeObject): string {
  const n = obj.metadata?.name;
  if (n === undefined) throw new Error('object without a name');
  return n;
}

export function keyOf(obj: KubeObject): string {
  return objectKey(obj);
}

/**
 * Keys of the controllers a dependent's event concerns (the handlers of the ReplicaSet,
 * Deployment, Job, ... controllers): its controller if it has one (old and new if it changed);
 * if orphaned, every controller of `ownerKind` in its namespace whose selector matches it, so
 * one can adopt it.
 */
export function ownerKeysForDependent(cache: CacheView, ownerKind: KindRef, obj: KubeObject, oldObj?: KubeObject): string[] {
  const keys = new Set<string>();
  const ns = obj.metadata?.namespace;
  for (const o of oldObj === undefined ? [obj] : [oldObj, obj]) {
    const owner = resolveControllerRef(cache, ownerKind, ns, controllerRefOf(o));
    if (owner !== undefined) keys.add(objectKey(owner));
  }
  const orphan = controllerRefOf(obj) === undefined;
  const labelsChanged = oldObj !== undefined && JSON.stringify(oldObj.metadata?.labels ?? {}) !== JSON.stringify(obj.metadata?.labels ?? {});
  const refChanged = oldObj !== undefined && controllerRefOf(oldObj)?.uid !== controllerRefOf(obj)?.uid;
  if (orphan && (oldObj === undefined || labelsChanged || refChanged)) {
    for (const owner of cache.list(ownerKind, ns)) if (selectorMatches(specSelector(owner), obj)) keys.add(objectKey(owner));
  }
  return [...keys];
}

/** Does the pod carry every label of its owner's template (status.fullyLabeledReplicas)? */
export function matchesTemplateLabels(owner: KubeObject, pod: KubeObject): boolean {
  const spec = owner['spec'];
  const template = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>)['template'] : undefined;
  const tm = typeof template === 'object' && template !== null ? (template as Record<string, unknown>)['metadata'] : undefined;
  const want = (typeof tm === 'object' && tm !== null ? (tm as Record<string, unknown>)['labels'] : undefined) as Record<string, string> | undefined;
  const have = pod.metadata?.labels ?? {};
  return Object.entries(want ?? {}).every(([k, v]) => have[k] === v);
}

/** A LabelSelector object as requirements; undefined when it selects nothing or is invalid. */
export function labelSelectorFromObjectReqs(sel: unknown): LabelSelectorReqs | undefined {
  const r = labelSelectorFromObject(sel);
  return r.ok && r.value !== 'nothing' ? r.value : undefined;
}
