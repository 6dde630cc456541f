// TensorFlow.js's optimizer for the cell (bench/algorithms.ts: tf.train.rmsprop,
// momentum, adam, ...) on the 'cpu' and the 'wasm' backends, each in its own
// child Node process (bench/tfjs-worker.ts): a wasm abort or an out-of-
// memory error ends that child, is reported in the table, and the next cell
// starts a fresh one. Float32 only (TensorFlow.js has no float64).
import * as path from 'node:path';
import type { Cell, Host, Peer } from './types';
import { ask, LineWorker, parseTagged } from './worker-client';

const packages: Record<'cpu' | 'wasm', string[]> = {
  cpu: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'],
  wasm: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'],
};

function missing(names: string[]): string[] {
  return names.filter((n) => {
    try {
      require.resolve(`${n}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * How to run a .ts file in a child Node, as `npm run bench` runs this bench:
 * with tsx's CommonJS hook only. tsx's CLI also registers an ESM loader on a
 * thread of its own, and that detaches an ArrayBuffer in the process, after
 * which V8 checks the buffer of every typed array whose length is read
 * (bench/notes.md, "Many small tensors").
 */
function tsxArgv(file: string): string[] {
  return [process.execPath, '--expose-gc', '--require', 'tsx/cjs', file];
}

class TfjsHost implements Host {
  name: string;
  peers: Peer[];
  unavailable?: string;
  private info = '';
  private worker: LineWorker | undefined;
  private broken = false;

  constructor(backend: 'cpu' | 'wasm') {
    this.name = `tfjs ${backend}`;
    const absent = missing(packages[backend]);
    if (absent.length) this.unavailable = `not installed (npm install --no-save ${absent.join(' ')})`;
    else this.worker = new LineWorker(this.name, [...tsxArgv(path.join(__dirname, 'tfjs-worker.ts')), backend], { parse: parseTagged });
    this.peers = [
      {
        id: `tfjs-${backend}`,
        label: `TF.js ${backend}`,
        kind: 'tfjs',
        threads: 1,
        applies: (cell: Cell) => (cell.dtype !== 'float32' ? null : 'unavailable' in cell.config.tfjs ? cell.config.tfjs.unavailable : true),
        run: async (steps: number) => {
          try {
            return (await ask<{ seconds: number }>(this.worker!, { cmd: 'run', steps })).seconds;
          } catch (e) {
            this.broken = true;
            throw e;
          }
        },
      },
    ];
  }

  async start(): Promise<void> {
    if (!this.worker) return;
    try {
      const r = await ask<{ version: string; backend: string; flavour: string }>(this.worker, { cmd: 'info' });
      this.info = `${this.name}: TensorFlow.js ${r.version}${r.flavour ? ` (${r.flavour})` : ''}`;
    } catch (e) {
      this.unavailable = `cannot start: ${(e as Error).message.slice(0, 200)}`;
      this.worker.kill();
    }
  }

  pid(): number | undefined {
    return this.worker?.pid;
  }

  describe(): string {
    return this.unavailable ? `${this.name}: ${this.unavailable}` : this.info;
  }

  async setup(cell: Cell): Promise<void> {
    const tfjs = cell.config.tfjs;
    if ('unavailable' in tfjs) throw new Error(tfjs.unavailable); // applies() keeps such cells away
    if (!this.worker!.alive) await ask(this.worker!, { cmd: 'info' });
    try {
      await ask(this.worker!, {
        cmd: 'setup',
        tensors: cell.workload.tensors,
        size: cell.workload.size,
        optimizer: tfjs.optimizer,
        args: tfjs.args,
      });
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  async teardown(): Promise<void> {
    // After an error (a wasm abort leaves the module unusable) start afresh.
    if (this.broken) this.worker?.kill();
    else if (this.worker?.alive) await ask(this.worker, { cmd: 'free' }).catch(() => this.worker?.kill());
    this.broken = false;
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }
}

export async function tfjsHosts(): Promise<Host[]> {
  const hosts = [new TfjsHost('cpu'), new TfjsHost('wasm')];
  await Promise.all(hosts.map((h) => h.start()));
  return hosts;
}
