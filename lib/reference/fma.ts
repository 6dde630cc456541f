// TEMPORARY PLACEHOLDER written by the lead engineer so the rest of lib/ can
// be exercised; the fma helper (whoever owns lib/reference/fma.ts) replaces
// this whole file with the exact implementation. Not exact: do not keep.
export function fmaf32(a: number, b: number, c: number): number {
  return Math.fround(a * b + c);
}
export function fma64(a: number, b: number, c: number): number {
  return a * b + c;
}
