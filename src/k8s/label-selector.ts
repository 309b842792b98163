import type { LabelSelector, StringMap } from './objects.js';

/**
 * Whether `labels` satisfy `selector`, with the semantics of `metav1.LabelSelectorAsSelector`:
 * `matchLabels` and every `matchExpressions` requirement are ANDed; an empty selector (`{}`, no
 * requirements) matches everything; a `null`/absent selector matches nothing.
 *
 * @remarks
 * Where each case arises in the API: a NetworkPolicy's `spec.podSelector: {}` selects every pod of
 * its namespace; a peer's `namespaceSelector: {}` selects every namespace, while an absent
 * `namespaceSelector` restricts the peer to the policy's own namespace and an absent `podSelector`
 * means "all pods" of the selected namespaces — those two absences are decided by the policy code,
 * which must not call this function with `undefined` for them. Requirement semantics follow
 * `labels.Requirement.Matches` (k8s.io/apimachinery/pkg/labels/selector.go): `NotIn` matches a
 * label set without the key; `In` with no values matches nothing. An unknown operator makes the
 * selector invalid, and an invalid selector matches nothing (the API server rejects such objects).
 */
export function matchesSelector(labels: StringMap | undefined, selector: LabelSelector | null | undefined): boolean {
  if (selector === undefined || selector === null) return false;
  const have = labels ?? {};
  const matchLabels = selector.matchLabels ?? {};
  for (const key of Object.keys(matchLabels)) {
    if (!Object.hasOwn(have, key) || have[key] !== matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(have[req.key] as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[req.key] as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * Whether `labels` satisfy a Service's (or ReplicaSet's) equality-based `selector` map.
 *
 * @remarks
 * A Service without a selector (absent, or `{}`, which the API serves as absent) selects no pods:
 * the EndpointSlice controller skips it (`pkg/controller/endpointslice`, `Spec.Selector == nil`).
 */
export function matchesServiceSelector(labels: StringMap | undefined, selector: StringMap | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  const have = labels ?? {};
  for (const key of Object.keys(selector)) {
    if (!Object.hasOwn(have, key) || have[key] !== selector[key]) return false;
  }
  return true;
}

/** `selector` printed like kubectl prints it (`app=web,tier in (a,b),!debug`), or `<none>`/`<everything>`. */
export function formatSelector(selector: LabelSelector | null | undefined): string {
  if (selector === undefined || selector === null) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = (req.values ?? []).join(',');
    switch (req.operator) {
      case 'In':
        parts.push(`${req.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${req.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(req.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${req.key}`);
        break;
      default:
        parts.push(`${req.key} ${String(req.operator)} (${values})`);
    }
  }
  return parts.length === 0 ? '<everything>' : parts.join(',');
}
