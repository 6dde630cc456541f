// Small helpers shared by the test files.
import { backendInfo, useBackend, useIsa } from '../lib';

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
