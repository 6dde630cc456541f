// A group's option values in a fixed order, read at every step to tell
// whether anything changed since they were validated. Compiled once per
// optimizer kind, as state-access.ts is: named reads stay monomorphic.

/**
 * A function that writes each option of `defaults` (a group's value) into
 * out[0...], and for an option whose default is an array (Adam's betas) its
 * elements too, since they can change in place; then whether each of
 * PyTorch's spellings (`weight_decay`) is a key of the group: setting one on
 * a live group is a mistake validation must catch.
 */
export function groupValues(defaults: object, spellings: readonly string[]): (group: object, out: unknown[]) => void {
  const reads: string[] = [];
  for (const [name, value] of Object.entries(defaults)) {
    checkName(name);
    reads.push(`g.${name}`);
    if (Array.isArray(value)) {
      reads.push(`(Array.isArray(g.${name}) ? g.${name}.length : -1)`);
      value.forEach((_, k) => reads.push(`(Array.isArray(g.${name}) ? g.${name}[${k}] : undefined)`));
    }
  }
  for (const name of spellings) {
    checkName(name);
    reads.push(`'${name}' in g`);
  }
  const body = reads.map((read, i) => `out[${i}] = ${read};`).join('\n');
  return new Function('g', 'out', body) as (group: object, out: unknown[]) => void;
}

function checkName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`simd-optim internal error: option name ${JSON.stringify(name)}`);
}
