// Small helpers shared by the test files.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { backendInfo, useBackend, useIsa, type Parameter } from '../lib';
import { isDetached } from '../lib/core/tensor';

/** Every (backend, ISA) pair this machine can run, as a label and a switch. */
export function everyBackend(): { label: string; use: () => void }[] {
  const info = backendInfo();
  const out = info.isas.map((isa) => ({
    label: `native/${isa}`,
    use: () => {
      useBackend('native');
      useIsa(isa);
    },
  }));
  out.push({ label: 'js', use: () => useBackend('js') });
  return out;
}

/** Restores the default backend and the best ISA. */
export function resetBackend(): void {
  const info = backendInfo();
  if (info.nativeLoaded) {
    useBackend('native');
    useIsa(info.isas[info.isas.length - 1]);
  }
}

/** Raw bytes of a typed array, for byte-equality checks. */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A deterministic pseudo-random float32 array in [-1, 1). */
export function randomF32(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 31) - 1;
  });
}

/** An array's bytes as hex, or what it is when it has none to read (a detached buffer, null, a number). */
export function hex(a: unknown): string {
  if (typeof a === 'bigint') return `${a}n`;
  if (!ArrayBuffer.isView(a)) return JSON.stringify(a) ?? String(a);
  return isDetached(a.buffer) ? 'detached' : bytesOf(a).toString('hex');
}

/** An optimizer as the snapshot reads it: any of them, the built-in ones and custom ones alike. */
interface Snapshotted {
  paramGroups: readonly ({ params: readonly Parameter[] } & object)[];
  state: { get(p: Parameter): object | undefined; readonly size: number };
}

/**
 * Everything a refused call must leave untouched, as one string: each param's
 * data, grad (unless `grads: false`) and state, then (unless `groups: false`)
 * every group's values (typed, so that 1 and '1' differ) and the counts of
 * state entries and groups.
 */
export function snapshot(
  opt: Snapshotted,
  params: readonly Parameter[] = opt.paramGroups.flatMap((g) => g.params),
  { grads = true, groups = true } = {},
): string {
  const parts: string[] = [];
  for (const p of params) {
    parts.push(hex(p.data));
    if (grads) parts.push(hex(p.grad));
    for (const [k, v] of Object.entries(opt.state.get(p) ?? {})) parts.push(k, typeof v === 'number' ? String(v) : hex(v));
  }
  if (!groups) return parts.join('|');
  for (const g of opt.paramGroups) {
    parts.push(JSON.stringify(g, (k, v) => (k === 'params' ? (v as Parameter[]).length : typeof v === 'number' || typeof v === 'bigint' || v === undefined ? `${typeof v}:${v}` : v)));
  }
  return `${parts.join('|')}|${opt.state.size}|${opt.paramGroups.length}`;
}

/** What `f` threw, or how its promise rejected; fails the test if it did neither. */
export async function thrown(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** Runs a snippet of TypeScript in a fresh Node process from the repository's root, with extra env and Node flags. */
export function runNode(code: string, env: Record<string, string> = {}, nodeFlags: string[] = []): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '-e', code], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/**
 * Set by `npm run test:all` (and CI): the full PyTorch matrices, and the
 * stress, fuzz and crash tests. `npm test` runs a representative slice of
 * each cross-check, to stay fast.
 */
export const fullTests = process.env.SIMD_OPTIM_FULL_TESTS === '1';

/** All of `items` in the full suite; in `npm test`, only those `quick` keeps. */
export function quickSlice<T>(items: readonly T[], quick: (item: T) => boolean): T[] {
  return fullTests ? [...items] : items.filter(quick);
}

/** it() in the full suite only: npm test leaves the test out (not skipped: not there at all). */
export function itFull(title: string, fn: Mocha.Func): void {
  if (fullTests) it(title, fn);
}
