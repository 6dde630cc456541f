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
  /** Whether this Python imports `module` (safetensors, say, which an oracle set up halfway lacks). */
  hasModule(module: string): boolean;
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

let found: PythonOracle[] | undefined;

/**
 * The oracles that are installed and import torch of the expected version.
 * Probed once per process: each probe starts Python and imports torch.
 */
export function pythonOracles(): PythonOracle[] {
  found ??= probeOracles();
  return found;
}

function probeOracles(): PythonOracle[] {
  const out: PythonOracle[] = [];
  for (const id of ['torch-1.13', 'torch-2.6'] as const) {
    const argv = command(id);
    if (!argv) continue;
    const probe = exec([...argv, '-c', 'import torch; print(torch.__version__)'], '');
    if (probe.status !== 0 || !probe.stdout.startsWith(id === 'torch-1.13' ? '1.13' : '2.6')) continue;
    const modules = new Map<string, boolean>();
    out.push({
      id,
      run(script, request) {
        const r = exec([...argv, '-c', script], JSON.stringify(request));
        if (r.status !== 0) throw new Error(`${id} failed: ${r.stderr.slice(-2000)}`);
        return JSON.parse(r.stdout);
      },
      hasModule(module) {
        let has = modules.get(module);
        if (has === undefined) modules.set(module, (has = exec([...argv, '-c', `import ${module}`], '').status === 0));
        return has;
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

/**
 * The oracle `id`, with every Python module in `modules`, for the test `ctx`
 * runs. If it is missing or set up halfway, the test fails under
 * REQUIRE_TORCH=1 and is skipped otherwise, its title saying what is missing.
 */
export function oracleFor(ctx: Mocha.Context, id: PythonOracle['id'], modules: readonly string[] = []): PythonOracle {
  const oracle = pythonOracles().find((o) => o.id === id);
  const missing = oracle === undefined ? [`torch ${id.slice('torch-'.length)}`] : modules.filter((m) => !oracle.hasModule(m));
  if (oracle !== undefined && missing.length === 0) return oracle;
  const where = id === 'torch-1.13' ? '/usr/bin/python3' : 'the trixie chroot';
  const why = `${missing.join(' and ')} not installed in ${where} (bash scripts/setup-torch.sh, as root)`;
  if (requireTorch) throw new Error(`REQUIRE_TORCH=1, but ${why}`);
  if (ctx.test) ctx.test.title += ` [skipped: ${why}]`;
  ctx.skip();
}
