// Runs a Python script under each installed PyTorch oracle: 1.13 as
// /usr/bin/python3 (Debian bookworm's python3-torch), 2.6 in the Debian
// trixie chroot that scripts/setup-torch.sh makes. The script goes in with
// `python3 -c`, the request on stdin, the answer on stdout.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PythonOracle {
  id: 'torch-1.13' | 'torch-2.6';
  run(script: string, request: unknown): unknown;
  /** A fresh folder both sides can use: its host path, and the path Python sees (inside the chroot for 2.6). */
  tempDir(): { host: string; python: string };
}

const trixie = process.env.SIMD_OPTIM_TRIXIE || '/var/cache/simd-optim/trixie';

function command(id: PythonOracle['id']): string[] | undefined {
  if (id === 'torch-1.13') return fs.existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : undefined;
  if (!fs.existsSync(`${trixie}/usr/bin/python3`)) return undefined;
  // PyTorch reads /proc to pick its CPU kernels; without it, it falls back to scalar code.
  if (!fs.existsSync(`${trixie}/proc/self`)) spawnSync('mount', ['-t', 'proc', 'proc', `${trixie}/proc`]);
  return ['chroot', trixie, '/usr/bin/python3'];
}

function exec(argv: string[], input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** The oracles that are installed and import torch of the expected version. */
export function pythonOracles(): PythonOracle[] {
  const out: PythonOracle[] = [];
  for (const id of ['torch-1.13', 'torch-2.6'] as const) {
    const argv = command(id);
    if (!argv) continue;
    const probe = exec([...argv, '-c', 'import torch; print(torch.__version__)'], '');
    if (probe.status !== 0 || !probe.stdout.startsWith(id === 'torch-1.13' ? '1.13' : '2.6')) continue;
    out.push({
      id,
      run(script, request) {
        const r = exec([...argv, '-c', script], JSON.stringify(request));
        if (r.status !== 0) throw new Error(`${id} failed: ${r.stderr.slice(-2000)}`);
        return JSON.parse(r.stdout);
      },
      tempDir() {
        const root = id === 'torch-2.6' ? trixie : '';
        const host = fs.mkdtempSync(path.join(`${root}/tmp`, 'simd-optim-'));
        return { host, python: host.slice(root.length) };
      },
    });
  }
  return out;
}

/** REQUIRE_TORCH=1 (set in CI): a missing oracle is a failure, not a skip. */
export const requireTorch = process.env.REQUIRE_TORCH === '1';
