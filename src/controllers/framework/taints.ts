/** Taints and tolerations as k8s.io/api/core/v1 helpers define them (ToleratesTaint). */
import { asArray, asNumber, asRecord, type KubeObject } from '../../api/index.js';

export interface Taint { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'; timeAdded?: string }
export interface Toleration { key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: string; tolerationSeconds?: number }

export function taintsOf(node: KubeObject): Taint[] {
  return asArray(asRecord(node['spec'])?.['taints']).map(asRecord).filter((t) => t !== undefined && typeof t['key'] === 'string') as unknown as Taint[];
}

export function tolerationsOf(pod: KubeObject): Toleration[] {
  return asArray(asRecord(pod['spec'])?.['tolerations']).map(asRecord).filter((t) => t !== undefined) as unknown as Toleration[];
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  const op = t.operator ?? 'Equal';
  if (op === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return (t.key ?? '') === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/**
 * For NoExecute taints: undefined when some taint is not tolerated (evict now); Infinity when
 * every taint is tolerated without a limit; otherwise the smallest tolerationSeconds that applies
 * (getMinTolerationTime: negative counts as zero).
 */
export function minTolerationSeconds(tolerations: readonly Toleration[], taints: readonly Taint[]): number | undefined {
  let min = Number.POSITIVE_INFINITY;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return undefined;
    for (const t of matching) {
      const s = asNumber(t.tolerationSeconds);
      if (s !== undefined) min = Math.min(min, Math.max(0, s));
    }
  }
  return min;
}
