// Runs a script of test/memory/ in its own Node process with --expose-gc,
// against the build users run (dist/, which npm test rebuilds), and returns
// the numbers it printed last, as JSON.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export function measure(script: string, args: string[] = [], env: Record<string, string> = {}): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr || String(r.error)).to.equal(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
