// The four float8 formats PyTorch stores (raw bits in a Uint8Array), decoded
// exactly. "fn": finite, with NaN at all-ones and no infinity; "fnuz":
// finite, NaN at 0x80 (the bits of -0), no negative zero, bias one higher.
export type Float8DType = 'float8_e4m3fn' | 'float8_e5m2' | 'float8_e4m3fnuz' | 'float8_e5m2fnuz';

const FORMATS: Record<Float8DType, { mantissa: number; bias: number; fnuz: boolean; ieee: boolean }> = {
  float8_e4m3fn: { mantissa: 3, bias: 7, fnuz: false, ieee: false },
  float8_e5m2: { mantissa: 2, bias: 15, fnuz: false, ieee: true },
  float8_e4m3fnuz: { mantissa: 3, bias: 8, fnuz: true, ieee: false },
  float8_e5m2fnuz: { mantissa: 2, bias: 16, fnuz: true, ieee: false },
};

export function isFloat8(dtype: string): dtype is Float8DType {
  return dtype in FORMATS;
}

/** The value of a float8 bit pattern (exact). */
export function float8ToNumber(bits: number, dtype: Float8DType): number {
  const { mantissa, bias, fnuz, ieee } = FORMATS[dtype];
  if (fnuz && bits === 0x80) return NaN;
  const sign = bits & 0x80 ? -1 : 1;
  const expBits = 7 - mantissa;
  const exp = (bits >> mantissa) & ((1 << expBits) - 1);
  const frac = bits & ((1 << mantissa) - 1);
  const top = (1 << expBits) - 1;
  if (ieee && exp === top) return frac === 0 ? sign * Infinity : NaN;
  if (!ieee && !fnuz && exp === top && frac === (1 << mantissa) - 1) return NaN;
  if (exp === 0) return sign * frac * 2 ** (1 - bias - mantissa);
  return sign * ((1 << mantissa) + frac) * 2 ** (exp - bias - mantissa);
}
