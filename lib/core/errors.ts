// One place that words every user-facing error: what was wrong, which argument,
// and the value received. Validation runs before anything is written, so an
// error always leaves parameters and optimizer state as they were.

/** %TypedArray%, the prototype of every typed array constructor. */
const TypedArray = Object.getPrototypeOf(Uint8Array) as Function;

/** Shows a value in an error message: short, with its type when that helps. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (ArrayBuffer.isView(value)) {
    const length = 'length' in value ? (value as unknown as { length: number }).length : value.byteLength;
    const name = value.constructor.name;
    // A typed array made in another realm (a vm context, a test runner's sandbox) fails instanceof.
    const foreign = name in globalThis && !(value instanceof (globalThis as unknown as Record<string, Function>)[name]);
    return `${name}(${length})${foreign ? ' from another realm (a vm context or a test sandbox): make it with this realm\'s constructor' : ''}`;
  }
  if (value instanceof TypedArray) return `a ${(value as object).constructor?.name ?? 'typed array'} look-alike (a Proxy, or an object on its prototype), not a typed array`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `Expected ${expected} for ${name} but received ${value}` as a TypeError. */
export function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

/**
 * Checks a hyperparameter. The message starts with PyTorch's wording
 * (`Invalid learning rate: -1`) and then names the argument and the rule.
 */
export function checkHyper(
  label: string,
  name: string,
  value: unknown,
  rule: { min: number; max?: number; maxExclusive?: boolean },
  where?: string,
): number {
  const at = where ? `, in ${where}` : '';
  if (typeof value !== 'number') {
    throw new TypeError(`Invalid ${label}: ${describe(value)} (${name} must be a number, got ${typeof value}${at})`);
  }
  const { min, max, maxExclusive } = rule;
  const inRange =
    Number.isFinite(value) &&
    value >= min &&
    (max === undefined || (maxExclusive ? value < max : value <= max));
  if (!inRange) {
    const range =
      max === undefined ? `a finite number >= ${min}` : `in [${min}, ${max}${maxExclusive ? ')' : ']'}`;
    throw new RangeError(`Invalid ${label}: ${value} (${name} must be ${range}${at})`);
  }
  return value;
}

/** Checks a hyperparameter PyTorch takes as any number, such as SGD's dampening: finite, in our stricter reading. */
export function checkFiniteHyper(label: string, name: string, value: unknown, where?: string): number {
  const at = where ? `, in ${where}` : '';
  if (typeof value !== 'number') {
    throw new TypeError(`Invalid ${label}: ${describe(value)} (${name} must be a number, got ${typeof value}${at})`);
  }
  if (!Number.isFinite(value)) throw new RangeError(`Invalid ${label}: ${value} (${name} must be a finite number${at})`);
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean', value);
  return value;
}

/**
 * Rejects option names the optimizer does not know, suggesting the right
 * one, or else adding `otherwise` (what to do instead).
 */
export function checkOptionNames(owner: string, given: object, known: readonly string[], otherwise?: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const hint = suggest(key, known);
    throw new TypeError(
      `Unknown option '${key}' for ${owner}` + (hint ? ` (did you mean '${hint}'?)` : '') +
        `; known options: ${known.join(', ')}` + (!hint && otherwise ? `; ${otherwise}` : ''),
    );
  }
}

/** snake_case or a near miss → the known name, if there is a clear one. */
function suggest(key: string, known: readonly string[]): string | undefined {
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const exact = known.find((k) => k.toLowerCase() === camel.toLowerCase());
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(camel.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
