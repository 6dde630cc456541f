// PyTorch's torch.optim, the cell's optimizer and kwargs (bench/algorithms.ts):
// single-tensor (PyTorch's default on CPU), foreach and, in 2.6, fused, at one
// thread and at all cores, timed inside Python by bench/torch_optim.py. PyTorch 1.13
// is Debian bookworm's /usr/bin/python3; PyTorch 2.6 is Debian trixie's, in
// the chroot scripts/setup-torch.sh makes (SIMD_OPTIM_TRIXIE overrides where).
// "torch 2.6 THP" is the same PyTorch 2.6 with THP_MEM_ALLOC_ENABLE=1, which
// makes its CPU allocator advise huge pages for allocations of 2 MiB and more,
// as simd-optim does: for information beside PyTorch as users run it, which
// the targets judge (kind 'torch-thp', not 'torch'), in the sweep's cells only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cell, Host, Peer, PeerKind } from './types';
import { ask, LineWorker, parseTagged, quietThreadsEnv } from './worker-client';

const script = fs.readFileSync(path.join(__dirname, 'torch_optim.py'), 'utf8');
const trixie = process.env.SIMD_OPTIM_TRIXIE || '/var/cache/simd-optim/trixie';

interface TorchSpec {
  /** "torch <version>[ <variant>]": start() checks the version. */
  name: string;
  argv: string[] | undefined;
  missing: string;
  kind: PeerKind;
  /** The ways it steps: fused=True on CPU came in 2.4. */
  variants: Variant[];
  /** Added to the child's environment. */
  env?: NodeJS.ProcessEnv;
}

type Variant = 'single' | 'foreach' | 'fused';
const variantName: Record<Variant, string> = { single: 'single-tensor', foreach: 'foreach', fused: 'fused' };

function specs(): TorchSpec[] {
  const bookworm: TorchSpec = {
    name: 'torch 1.13',
    argv: fs.existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : undefined,
    missing: 'not installed: no /usr/bin/python3 (apt-get install python3-torch)',
    kind: 'torch',
    variants: ['single', 'foreach'],
  };
  // scripts/setup-torch.sh mounts /proc in the chroot (PyTorch reads it to
  // pick its CPU kernels); the bench only uses what is there.
  const chroot = fs.existsSync(`${trixie}/usr/bin/python3`) ? ['chroot', trixie, '/usr/bin/python3'] : undefined;
  const trixieSpec: TorchSpec = {
    name: 'torch 2.6',
    argv: chroot,
    missing: `not installed: no trixie chroot at ${trixie} (bash scripts/setup-torch.sh)`,
    kind: 'torch',
    variants: ['single', 'foreach', 'fused'],
  };
  // PyTorch 1.13 has no such switch. For information, as before fused came to the bench: without it.
  const thpSpec: TorchSpec = {
    ...trixieSpec, name: 'torch 2.6 THP', kind: 'torch-thp', variants: ['single', 'foreach'], env: { THP_MEM_ALLOC_ENABLE: '1' },
  };
  return [bookworm, trixieSpec, thpSpec];
}

class TorchHost implements Host {
  name: string;
  peers: Peer[] = [];
  unavailable?: string;
  private info = '';
  private worker: LineWorker | undefined;

  constructor(private readonly spec: TorchSpec, cores: number) {
    this.name = spec.name;
    if (spec.argv) {
      const env = { ...quietThreadsEnv(), ...spec.env };
      this.worker = new LineWorker(spec.name, [...spec.argv, '-u', '-c', script], { parse: parseTagged, env });
    } else {
      this.unavailable = spec.missing;
    }
    const threadCounts = cores > 1 ? [1, cores] : [1];
    for (const threads of threadCounts) {
      for (const variant of spec.variants) {
        this.peers.push({
          id: `${spec.name.toLowerCase().replace(/ /g, '-')}-${variant}-${threads === 1 ? '1t' : 'all'}`,
          label: `${spec.name} ${variantName[variant]}${threads > 1 ? ` ${threads}T` : ''}`,
          kind: spec.kind,
          threads,
          applies: (cell: Cell) => this.applies(cell, variant),
          run: async (steps: number) => {
            const r = await ask<{ seconds: number }>(this.worker!, { cmd: 'run', variant, threads, steps });
            return r.seconds;
          },
        });
      }
    }
  }

  /** Float32 cells (float64 rows compare native with the limits only); THP in the sweep's cells only. */
  private applies(cell: Cell, variant: Variant): true | string | null {
    if (cell.dtype !== 'float32' || (this.spec.kind === 'torch-thp' && cell.algorithm.scope !== 'sweep')) return null;
    if (variant === 'fused' && !cell.algorithm.torchFused) return `PyTorch has no fused ${cell.algorithm.name}`;
    return true;
  }

  /** Starts Python and checks that torch imports (and is the expected version). */
  async start(): Promise<void> {
    if (!this.worker) return;
    try {
      const r = await ask<{ torch: string; python: string; capability: string; threads: number }>(this.worker, { cmd: 'info' });
      const want = this.spec.name.split(' ')[1];
      if (!r.torch.startsWith(want)) {
        this.unavailable = `not installed: found torch ${r.torch}, not ${want}`;
        await this.worker.close();
        return;
      }
      const env = Object.entries(this.spec.env ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
      this.info = `${this.spec.name}: torch ${r.torch}, Python ${r.python}, CPU capability ${r.capability}, default threads ${r.threads}` +
        `${env ? `; environment ${env}` : ''}`;
    } catch (e) {
      this.unavailable = `not installed: ${(e as Error).message.includes('torch') ? 'python3 cannot import torch' : (e as Error).message.slice(0, 200)}`;
    }
  }

  pid(): number | undefined {
    return this.worker?.pid;
  }

  describe(): string {
    return this.unavailable ? `${this.spec.name}: ${this.unavailable}` : this.info;
  }

  async setup(cell: Cell): Promise<void> {
    await ask(this.worker!, {
      cmd: 'setup',
      tensors: cell.workload.tensors,
      size: cell.workload.size,
      dtype: cell.dtype,
      optimizer: cell.algorithm.name,
      kwargs: cell.config.torch,
      // The ones that run in this cell: the first one's first step makes the state they share.
      variants: this.spec.variants.filter((v) => v !== 'fused' || cell.algorithm.torchFused),
    });
  }

  async teardown(): Promise<void> {
    if (this.worker?.alive) await ask(this.worker, { cmd: 'free' }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }
}

export async function torchHosts(cores: number): Promise<Host[]> {
  const hosts = specs().map((s) => new TorchHost(s, cores));
  await Promise.all(hosts.map((h) => h.start()));
  return hosts;
}
