/**
 * Chaos Mesh's pod selection (PodSelectorSpec and mode), pure: which pods a chaos object targets.
 * - `pods` ({namespace: [names]}) names the targets and the other selectors are then ignored;
 * - otherwise every given selector must match: namespaces (default: the chaos object's own),
 *   labelSelectors, expressionSelectors, annotationSelectors, fieldSelectors, nodes, nodeSelectors
 *   (the labels of the pod's node) and podPhaseSelectors; pods being deleted are never selected;
 * - then `mode` picks among them: one, all, fixed (value pods), fixed-percent (value% of them),
 *   random-max-percent (a random share up to value%).
 * The random picks are drawn from a PRNG seeded by the chaos object's uid, so one object always
 * picks the same pods from the same candidates (and a replayed run picks alike).
 */
import {
  asArray, asRecord, asString, labelSelectorFromObject, matchesFields, matchesLabels, parseFieldSelector, type KubeObject,
} from '../../api/index.js';
import { SeededPrng, type Prng } from '../../primitives/prng.js';
import { selectorModes, type SelectorMode } from './crds.js';

export type Selection = { readonly ok: true; readonly pods: readonly KubeObject[] } | { readonly ok: false; readonly error: string };

const stringList = (v: unknown): string[] => asArray(v).filter((x): x is string => typeof x === 'string');

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(asRecord(v) ?? {})) if (typeof x === 'string') out[k] = x;
  return out;
}

const mapMatches = (want: Readonly<Record<string, string>>, have: Readonly<Record<string, string>> | undefined): boolean =>
  Object.entries(want).every(([k, v]) => have?.[k] === v);

/** The candidates the selector matches (before `mode`), in key order; an error names the bad field. */
export function matchPods(selector: unknown, chaosNamespace: string, pods: readonly KubeObject[], nodeLabels: (node: string) => Readonly<Record<string, string>> | undefined): Selection {
  const sel = asRecord(selector) ?? {};
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined).sort((a, b) => podId(a).localeCompare(podId(b)));
  const named = asRecord(sel['pods']);
  if (named !== undefined && Object.keys(named).length > 0) {
    const wanted = new Set(Object.entries(named).flatMap(([ns, names]) => stringList(names).map((n) => `${ns}/${n}`)));
    return { ok: true, pods: live.filter((p) => wanted.has(podId(p))) };
  }
  const namespaces = stringList(sel['namespaces']);
  const inNamespaces = new Set(namespaces.length === 0 ? [chaosNamespace] : namespaces);
  const labels = labelSelectorFromObject({ matchLabels: stringMap(sel['labelSelectors']), matchExpressions: asArray(sel['expressionSelectors']) });
  if (!labels.ok) return { ok: false, error: `selector.expressionSelectors: ${labels.error}` };
  const fieldText = Object.entries(stringMap(sel['fieldSelectors'])).map(([k, v]) => `${k}=${v}`).join(',');
  const fields = parseFieldSelector(fieldText, 'pods');
  if (!fields.ok) return { ok: false, error: `selector.fieldSelectors: ${fields.error}` };
  const annotations = stringMap(sel['annotationSelectors']);
  const nodes = new Set(stringList(sel['nodes']));
  const nodeSelectors = stringMap(sel['nodeSelectors']);
  const phases = new Set(stringList(sel['podPhaseSelectors']));
  const matched = live.filter((p) => {
    const node = asString(asRecord(p['spec'])?.['nodeName']) ?? '';
    return inNamespaces.has(p.metadata?.namespace ?? '')
      && labels.value !== 'nothing' && matchesLabels(labels.value, p.metadata?.labels)
      && matchesFields(fields.value, 'pods', p)
      && mapMatches(annotations, p.metadata?.annotations)
      && (nodes.size === 0 || nodes.has(node))
      && (Object.keys(nodeSelectors).length === 0 || (node !== '' && mapMatches(nodeSelectors, nodeLabels(node))))
      && (phases.size === 0 || phases.has(asString(asRecord(p['status'])?.['phase']) ?? ''));
  });
  return { ok: true, pods: matched };
}

/** How many of `n` candidates `mode` (with `value`) takes, or why the value is bad. */
function countFor(mode: SelectorMode, value: string | undefined, n: number, prng: Prng): { ok: true; count: number } | { ok: false; error: string } {
  const number = (what: string, max?: number): { ok: true; v: number } | { ok: false; error: string } => {
    const v = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isInteger(v) || v < 0 || (max !== undefined && v > max)) {
      return { ok: false, error: `mode ${mode} needs value to be ${what}, got ${JSON.stringify(value ?? '')}` };
    }
    return { ok: true, v };
  };
  switch (mode) {
    case 'one': return { ok: true, count: Math.min(1, n) };
    case 'all': return { ok: true, count: n };
    case 'fixed': {
      const v = number('a whole number of pods');
      return v.ok ? { ok: true, count: Math.min(v.v, n) } : v;
    }
    case 'fixed-percent': {
      const v = number('a percentage from 0 to 100', 100);
      return v.ok ? { ok: true, count: Math.floor((n * v.v) / 100) } : v;
    }
    case 'random-max-percent': {
      const v = number('a percentage from 0 to 100', 100);
      return v.ok ? { ok: true, count: Math.floor((n * prng.int(v.v + 1)) / 100) } : v;
    }
    default: {
      const never: never = mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
}

/** The targets: `mode` applied to the matched candidates, drawn with a PRNG seeded by `seedText`. */
export function pickPods(candidates: readonly KubeObject[], modeText: string, value: string | undefined, seedText: string): Selection {
  const mode = selectorModes.find((m) => m === modeText);
  if (mode === undefined) return { ok: false, error: `unknown mode ${JSON.stringify(modeText)}: one of ${selectorModes.join(', ')}` };
  const prng = new SeededPrng(0).fork(seedText);
  const count = countFor(mode, value, candidates.length, prng);
  if (!count.ok) return count;
  // A partial Fisher–Yates shuffle: the first `count` of a uniformly random order.
  const pool = [...candidates];
  for (let i = 0; i < count.count; i++) {
    const j = i + prng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return { ok: true, pods: pool.slice(0, count.count) };
}

export function podId(pod: KubeObject): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
