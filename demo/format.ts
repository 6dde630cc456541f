// How the demo writes a loss in charts and tool output.

/** A loss to two significant digits, as 0.0087 or 1.2e-5 (not 0.000012); a diverged run as 'diverged'. */
export function formatLoss(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'diverged';
  return x < 1e-3 ? x.toExponential(1) : String(Number(x.toPrecision(2)));
}
