// The benchmark's verdicts on issue 5's targets (bench/report.ts), on small
// made-up runs: which cell decides a target, and when a missed target is out
// of reach because simd-optim already moves what the memory bus allows.
import { expect } from 'chai';
import { evaluateTargets, type RunMeta, type TargetResult } from '../bench/report';
import type { CellResult, PeerResult } from '../bench/types';

const MiB = 2 ** 20;
const meta = { machine: { llcBytes: 32 * MiB }, defaultIsa: 'avx512' } as unknown as RunMeta;

function peer(id: string, kind: PeerResult['kind'], threads: number, fields: Partial<PeerResult>): PeerResult {
  return { id, label: id, kind, threads, status: 'ok', samples: [], refSamples: [], steps: 1, warmup: [], melemPerSec: { median: 1, min: 1, max: 1 }, ...fields };
}

/**
 * A float32 momentum+centered cell where simd-optim (one thread) runs at
 * `pctOfLimit` of a C limit loop and is `tfjsRatio` times TF.js wasm.
 */
function cell(workload: string, elements: number, pctOfLimit: number, tfjsRatio: number, limitKernel = 'limit: same streams (C)'): CellResult {
  return {
    workload, tensors: 1, size: elements, config: 'momentum+centered', dtype: 'float32', elements,
    bytesPerElement: 36, footprintBytes: elements * 20,
    limit: { 1: { gbPerSec: 50, kernel: limitKernel }, all: { gbPerSec: 55, kernel: 'limit: same streams 2T (C)' } },
    rounds: 5,
    peers: [
      peer('native-avx512-1t', 'native', 1, { isa: 'avx512', nativeRatio: 1, pctOfLimit }),
      peer('tfjs-wasm', 'tfjs', 1, { nativeRatio: tfjsRatio, paired: { median: tfjsRatio, min: tfjsRatio, max: tfjsRatio } }),
    ],
  };
}

const tfjsTarget = (cells: CellResult[]): TargetResult =>
  evaluateTargets(meta, cells).find((t) => t.target === '≥ 10× TensorFlow.js wasm')!;

describe('bench report: the targets', () => {
  it('judges a target on its worst cell', () => {
    const t = tfjsTarget([cell('16M', 16 * MiB, 0.9, 14), cell('64M', 64 * MiB, 0.9, 11)]);
    expect(t.met).to.equal(true);
    expect(t.worst).to.equal('11× (64M m+c)');
    expect(t.outOfReach).to.equal(undefined);
  });

  it('calls a missed target out of reach when it would be missed at 100% of the bandwidth limit', () => {
    // 8× at 98% of the limit: 8.2× at the limit, short of 10×.
    const t = tfjsTarget([cell('16M', 16 * MiB, 0.98, 8), cell('64M', 64 * MiB, 0.9, 12)]);
    expect(t.met).to.equal(false);
    expect(t.outOfReach).to.equal('8.2× (16M m+c)');
    expect(t.measured).to.contain('at 100% of the bandwidth limit: 8.2× (16M m+c)');
  });

  it('does not, when simd-optim has room left under the limit', () => {
    const t = tfjsTarget([cell('16M', 16 * MiB, 0.7, 8)]); // 11× at the limit
    expect(t.met).to.equal(false);
    expect(t.outOfReach).to.equal(undefined);
  });

  it('takes a cell above the limit loop as at the limit', () => {
    const t = tfjsTarget([cell('16M', 16 * MiB, 1.05, 9)]);
    expect(t.outOfReach).to.equal('9.0× (16M m+c)');
  });

  it('does not, when a failing cell has no ceiling: in cache, or a limit measured in JS', () => {
    const inCache = cell('1M', 2 ** 20, 0.98, 8); // 20 MiB of arrays, within 3 × the 32 MiB LLC
    expect(tfjsTarget([inCache, cell('16M', 16 * MiB, 0.98, 8)]).outOfReach).to.equal(undefined);
    const jsLimit = cell('16M', 16 * MiB, 0.98, 8, 'limit: same streams (JS)');
    expect(tfjsTarget([jsLimit]).outOfReach).to.equal(undefined);
  });
});
