// Which optimizer a saved param group comes from, so that a state dict
// loaded into an optimizer of another kind fails with what it is ("this state
// dict is from Adam or AdamW (its groups have betas, eps and amsgrad), not
// SGD") rather than with the first key it lacks. The optimizers register
// their specs here (lib/optim/registry.ts); this module names none.
import type { OptimizerSpec } from './optimizer-spec';

// The specs' option types differ; only their names and group schemas are read here.
type AnySpec = OptimizerSpec<any>;

const known: AnySpec[] = [];

/** Adds optimizers to those a loaded dict is recognised as. */
export function registerOptimizers(specs: readonly AnySpec[]): void {
  for (const spec of specs) if (!known.includes(spec)) known.push(spec);
}

/** Whether `saved` has every key `spec`'s groups must have, and nothing that says it is another's. */
function claims(spec: AnySpec, saved: Record<string, unknown>): boolean {
  return spec.torchGroups.required.every((key) => key in saved) && spec.torchGroups.disowns?.(saved) === undefined;
}

/** "a, b and c" */
function listed(words: readonly string[], and: string): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} ${and} ${words[words.length - 1]}`;
}

/**
 * An error saying which optimizer `saved` (a param group of a loaded dict)
 * comes from, if it is not `spec`'s and another registered optimizer's;
 * undefined if it is `spec`'s, or nobody's (the caller's own checks word that).
 */
export function wrongKindError(spec: AnySpec, saved: Record<string, unknown>): TypeError | undefined {
  if (claims(spec, saved)) return undefined;
  const mine = new Set(spec.torchGroups.required);
  const reason = spec.torchGroups.disowns?.(saved);
  // Each candidate's evidence: the keys it needs that `spec` does not, else why `spec` disowns the group.
  const byEvidence = new Map<string, string[]>();
  for (const other of known) {
    if (other === spec || !claims(other, saved)) continue;
    const keys = other.torchGroups.required.filter((key) => !mine.has(key));
    const evidence = keys.length > 0 ? `its groups have ${listed(keys, 'and')}` : reason;
    if (evidence === undefined) continue;
    byEvidence.set(evidence, [...(byEvidence.get(evidence) ?? []), other.name]);
  }
  if (byEvidence.size === 0) return undefined;
  const [evidence, names] = [...byEvidence][0];
  return new TypeError(`this state dict is from ${listed(names, 'or')} (${evidence}), not ${spec.name}`);
}

/**
 * What a saved param group says of itself: the optimizers whose groups it
 * has the keys of, and the PyTorch generation that wrote it where it tells
 * (else why it cannot), for `simd-optim inspect`.
 */
export function identifyGroup(saved: Record<string, unknown>): { optimizers: string[]; generation?: '1.13' | '2.x'; why?: string } {
  const claimants = known.filter((spec) => claims(spec, saved));
  const generations = new Set(claimants.map((spec) => spec.torchGroups.generationOf(saved)));
  const optimizers = claimants.map((spec) => spec.name);
  if (generations.size === 1 && !generations.has(undefined)) return { optimizers, generation: [...generations][0] };
  return { optimizers, why: claimants.map((spec) => spec.torchGroups.ambiguous).find((text) => text !== undefined) };
}

/**
 * How PyTorch `compat` stores the `step` of a state entry whose param is in
 * `saved` (a param group): as the optimizer the group's keys name says, if
 * they name one (or several that agree); else undefined.
 */
export function stepFormOf(saved: Record<string, unknown>, compat: '1.13' | '2.x'): 'int' | 'tensor' | undefined {
  const forms = new Set(known.filter((spec) => claims(spec, saved)).map((spec) => (spec.stepIsFloat32({ compat }) ? 'tensor' : 'int')));
  return forms.size === 1 ? [...forms][0] : undefined;
}
