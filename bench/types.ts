// Shared shapes of the benchmark suite (bench/run.ts drives, bench/peers-*.ts measure).
import type { Algorithm, AlgorithmConfig, AlgorithmName } from './algorithms';
import type { Machine } from './machine';

export type DTypeName = 'float32' | 'float64';

/** Tensors of one step: `tensors` tensors of `size` elements each. */
export interface Workload {
  name: string;
  tensors: number;
  size: number;
}

/** One table cell group: a workload, an optimizer's config, a dtype. */
export interface Cell {
  workload: Workload;
  algorithm: Algorithm;
  config: AlgorithmConfig;
  dtype: DTypeName;
  /** Elements a step updates (tensors × size). */
  elements: number;
  /** Bytes a step must move: (reads + writes) × element size, per element. */
  bytesPerElement: number;
  /** Distinct bytes the step touches (arrays × element size × elements), for cache residency. */
  footprintBytes: number;
}

/**
 * native: simd-optim's kernels per ISA (the peers the targets judge).
 * native-jsarrays: simd-optim at its default ISA over params and grads made
 * with `new Float32Array` instead of `zeros` (what a user loses without it);
 * kept apart so that it never stands in for the per-ISA peers.
 * native-one-tensor: simd-optim at its default ISA, one thread, over one
 * tensor of the cell's total size, in cells of many tensors: "1,000 × 100
 * takes at most 2× one 100K tensor" is then measured side by side.
 * torch: PyTorch as users run it (the targets' PyTorch). torch-thp: PyTorch
 * 2.6 with THP_MEM_ALLOC_ENABLE=1, shown for information beside it.
 */
export type PeerKind = 'native' | 'native-jsarrays' | 'native-one-tensor' | 'js' | 'tfjs' | 'torch' | 'torch-thp' | 'limit' | 'bound';

/** One contestant. Peers of one host share its data and process. */
export interface Peer {
  id: string;
  label: string;
  kind: PeerKind;
  /** Threads it runs on (what its limit and its native comparison use). */
  threads: number;
  /** ISA of native kernels or of a bound loop. */
  isa?: string;
  /** For limit peers: the elements a kernel moves per element, e.g. 2 for copy. */
  countedArrays?: (cell: Cell) => number;
  /**
   * Whether this peer runs in a cell: true; a string, the reason it does not
   * (shown in the table); null, not part of this cell's table at all (e.g.
   * float64 rows compare native with the limits only).
   */
  applies(cell: Cell): true | string | null;
  /** Runs `steps` steps back to back and returns the seconds they took. */
  run(steps: number): Promise<number>;
}

/** Owns the data of a group of peers for one cell (one process, one set of arrays). */
export interface Host {
  name: string;
  peers: Peer[];
  /** Why none of its peers can run on this machine (e.g. "not installed"), or undefined. */
  unavailable?: string;
  /** Versions and settings worth printing. */
  describe(): string;
  /** The process its peers run in (this one, or a child), or undefined while it has none. */
  pid(): number | undefined;
  /** Creates the arrays for a cell; rejects with the reason its peers cannot run it. */
  setup(cell: Cell): Promise<void>;
  /** Frees the cell's arrays. */
  teardown(): Promise<void>;
  /** Ends any processes. */
  close(): Promise<void>;
}

export interface PeerResult {
  id: string;
  label: string;
  kind: PeerKind;
  threads: number;
  isa?: string;
  /** measured; or why not: not available (cannot run here), skipped (time budget), failed (error). */
  status: 'ok' | 'not available' | 'skipped' | 'failed';
  reason?: string;
  /** Seconds per step of each sample (each sample: `steps` steps). */
  samples: number[];
  /**
   * Seconds per step of the reference (simd-optim's default ISA at the same
   * thread count) sampled right before or after each of this peer's samples,
   * in the same order; NaN where it failed. Empty for the references themselves.
   */
  refSamples: number[];
  steps: number;
  /** Seconds of the warm-up steps (first step first). */
  warmup: number[];
  melemPerSec?: { median: number; min: number; max: number };
  gbPerSec?: number;
  /** For limit peers: counted GB/s of the kernel itself (copy counts 2 arrays, etc.). */
  limitGBPerSec?: number;
  /** GB/s ÷ the limit at the same threads (the fastest of copy, triad and the step's own streams against the reference, from the pairs). */
  pctOfLimit?: number;
  /** native (default ISA, same threads) ÷ this peer, in throughput: the median of the same-round ratios. */
  nativeRatio?: number;
  /** The reference's throughput ÷ this peer's in each round (its sample and the reference's, taken back to back). */
  paired?: { median: number; min: number; max: number };
  /** For the references: the same-round range of pctOfLimit and pctOfBoundBest over the rounds. */
  pctOfLimitRange?: { min: number; max: number };
  pctOfBoundRange?: { min: number; max: number };
  /** For native single-threaded peers in cache: % of the sqrt/div loop (same ISA / best ISA). */
  pctOfBoundSameIsa?: number;
  pctOfBoundBest?: number;
}

export interface CellResult {
  /** Older results.json files have none: their cells are RMSprop's (run.ts fills it in). */
  algorithm: AlgorithmName;
  workload: string;
  tensors: number;
  size: number;
  config: string;
  dtype: DTypeName;
  elements: number;
  bytesPerElement: number;
  footprintBytes: number;
  /** The limit (GB/s, counted as this config's bytes) at 1 thread and all cores, and which kernel set it. */
  limit: Record<string, { gbPerSec: number; kernel: string } | undefined>;
  /** Best sqrt/div loop (Melem/s) and its ISA, where measured. */
  bound?: { melemPerSec: number; isa: string };
  rounds: number;
  peers: PeerResult[];
}

/** What a run was: where, how, when (results.json's meta). */
export interface RunMeta {
  machine: Machine;
  quick: boolean;
  settings: { rounds: number; minRounds: number; sample: number; warm: number; peerBudget: number; maxStep: number };
  notes: string[];
  hosts: string[];
  /** How one-thread samples were placed on cores (affinity.ts); absent in runs before it. */
  pinning?: string;
  defaultIsa: string;
  /** Whether simd-optim advises huge pages for its arrays of 2 MiB and more (backendInfo().hugePages). */
  hugePages: boolean;
  seconds: number;
  /** This VM's 1-minute load average when the run started and ended (runnable threads, the run's own included). */
  load: { before: number; after: number };
  command: string;
}
