// scripts/check-prebuild.js, which stops `npm run prebuild` from shipping an
// addon that needs a newer glibc or a shared libstdc++: it must pass what
// bullseye builds and refuse each thing that would not load on glibc 2.31.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const { parseReadelf, check } = require('../scripts/check-prebuild.js');

/** Enough of `readelf --wide -h -d -S -V` for the check. */
function readelf(o: { machine?: string; needed?: string[]; needs?: Record<string, string[]>; symtab?: boolean }): string {
  const lines = ['ELF Header:', `  Machine:                           ${o.machine ?? 'Advanced Micro Devices X86-64'}`, 'Section Headers:'];
  lines.push('  [12] .text             PROGBITS        0000000000009000 009000 01f000 00  AX  0   0 64');
  if (o.symtab) lines.push('  [28] .symtab           SYMTAB          0000000000000000 05e0a8 004b90 18     29 312  8');
  lines.push('Dynamic section at offset 0x30000 contains 30 entries:');
  for (const lib of o.needed ?? ['libc.so.6']) lines.push(` 0x0000000000000001 (NEEDED)             Shared library: [${lib}]`);
  lines.push('', "Version symbols section '.gnu.version' contains 9 entries:", '  000:   0 (*local*)       2 (GLIBC_2.2.5)');
  lines.push('', "Version needs section '.gnu.version_r' contains 1 entries:", ' Addr: 0x0000000000002308  Offset: 0x00002308  Link: 4 (.dynstr)');
  let at = 0;
  for (const [file, names] of Object.entries(o.needs ?? { 'libc.so.6': ['GLIBC_2.2.5', 'GLIBC_2.14'] })) {
    lines.push(`  ${at.toString(16).padStart(6, '0')}: Version: 1  File: ${file}  Cnt: ${names.length}`);
    for (const n of names) lines.push(`  0x${(at += 16).toString(16).padStart(4, '0')}:   Name: ${n}  Flags: none  Version: 2`);
    at += 16;
  }
  return lines.join('\n') + '\n';
}

describe('check-prebuild: what a prebuild may need', () => {
  it('passes an addon that needs at most GLIBC_2.31 and nothing of libstdc++', () => {
    const facts = parseReadelf(readelf({ needs: { 'libc.so.6': ['GLIBC_2.2.5', 'GLIBC_2.31', 'GLIBC_2.17'], 'libm.so.6': ['GLIBC_2.29'] } }));
    expect(facts.versions).to.deep.equal(['GLIBC_2.2.5', 'GLIBC_2.31', 'GLIBC_2.17', 'GLIBC_2.29']);
    const r = check('x64', facts);
    expect(r.problems).to.deep.equal([]);
    expect(r.summary).to.include('highest GLIBC_2.31');
  });

  it('refuses a newer glibc (compared as versions: 2.4 is older than 2.31), libstdc++, the wrong machine, symbols', () => {
    const problems = (o: Parameters<typeof readelf>[0], arch = 'x64') => check(arch, parseReadelf(readelf(o))).problems.join('; ');
    expect(problems({ needs: { 'libc.so.6': ['GLIBC_2.4', 'GLIBC_2.32'] } })).to.equal('needs GLIBC_2.32, newer than GLIBC_2.31');
    expect(problems({ needs: { 'libc.so.6': ['GLIBC_2.4', 'GLIBC_2.3.4'] } })).to.equal('');
    expect(problems({ needs: { 'libc.so.6': ['GLIBC_2.2.5'], 'libstdc++.so.6': ['GLIBCXX_3.4.21', 'CXXABI_1.3'] } }))
      .to.match(/needs CXXABI_1.3, GLIBCXX_3.4.21/);
    expect(problems({ needed: ['libc.so.6', 'libgcc_s.so.1'] })).to.equal('links libgcc_s.so.1 dynamically');
    expect(problems({}, 'arm64')).to.equal('machine is Advanced Micro Devices X86-64, not AArch64');
    expect(problems({ machine: 'AArch64' }, 'arm64')).to.equal('');
    expect(problems({ symtab: true })).to.equal('not stripped (has .symtab)');
  });

  it('refuses this machine\'s own source build (newer glibc, shared libstdc++), through readelf', function () {
    const local = path.join(root, 'build', 'Release', 'simd_optim.node');
    if (process.arch !== 'x64' || !fs.existsSync(local) || spawnSync('readelf', ['--version']).status !== 0) this.skip();
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'check-prebuild.js'), 'x64', local], { encoding: 'utf8' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/links libstdc\+\+\.so\.6/);
    expect(r.stderr).to.match(/needs .*GLIBCXX_3\.4/);
  });
});
