// Looking things up in a run's cells (CellResult): what the targets and the
// page both need.
import { ALGORITHMS, shortName, type Algorithm } from './algorithms';
import type { CellResult, PeerResult, RunMeta } from './types';

/** A cell in verdicts: "64M m+c", "16M Adam f64". */
export const cellName = (c: CellResult) => `${c.workload} ${shortName(c.algorithm, c.config)}${c.dtype === 'float64' ? ' f64' : ''}`;

/** The first measured peer of a cell that `pred` picks. */
export const peer = (c: CellResult, pred: (r: PeerResult) => boolean) => c.peers.find((r) => pred(r) && r.melemPerSec);

/** Whether a peer runs at one thread, or at more (all cores). */
export const atThreads = (r: PeerResult, threads: 'one' | 'all') => (threads === 'one' ? r.threads === 1 : r.threads > 1);

/** simd-optim at its default ISA, at one thread or all cores: the peer every ratio is of. */
export const nativeAt = (meta: RunMeta, c: CellResult, threads: 'one' | 'all') =>
  peer(c, (r) => r.kind === 'native' && r.isa === meta.defaultIsa && atThreads(r, threads));

/** The fastest of a PyTorch's variants that `pred` picks, at one thread or all cores (the lower ratio to simd-optim), or undefined. */
export function fastestTorch(c: CellResult, pred: (r: PeerResult) => boolean, threads: 'one' | 'all'): PeerResult | undefined {
  const ts = c.peers.filter((r) => pred(r) && atThreads(r, threads) && r.nativeRatio !== undefined);
  return ts.sort((a, b) => a.nativeRatio! - b.nativeRatio!)[0];
}

/** Out of the last-level cache ("several times" its size): the arrays take at least 3× the LLC. */
export function outOfCache(meta: RunMeta, c: CellResult): boolean {
  const llc = meta.machine.llcBytes ?? 32 * 2 ** 20;
  return c.footprintBytes >= 3 * llc;
}

/** The optimizers a run measured, in the page's order, each with its cells. */
export function byAlgorithm(cells: CellResult[]): { algorithm: Algorithm; cells: CellResult[] }[] {
  return ALGORITHMS.map((algorithm) => ({ algorithm, cells: cells.filter((c) => c.algorithm === algorithm.name) })).filter((g) => g.cells.length);
}

/** The sweep's optimizer (RMSprop): the one the Summary table and the chart show. */
export const sweepAlgorithm = (): Algorithm => ALGORITHMS.find((a) => a.scope === 'sweep')!;
