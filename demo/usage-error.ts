// A mistake in how the demo was called (a flag, --out, a missing chart
// library): printed as one line, exit code 2.
export class UsageError extends Error {
  override name = 'UsageError';
}
