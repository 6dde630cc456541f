#!/usr/bin/env node
// Checks prebuilt addons before they ship: built for the right machine, no
// symbol version newer than GLIBC_2.31 (so they load on Ubuntu 20.04 and
// Debian 11), no GLIBCXX_/CXXABI_ needs and no libstdc++/libgcc_s (linked in
// statically), and stripped. Reads `readelf` output, which is the same for
// every architecture. Prints what it found; exits 1 if anything is off.
//   node scripts/check-prebuild.js ARCH FILE [ARCH FILE ...]   (ARCH: x64 | arm64)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

const GLIBC_FLOOR = '2.31';
const MACHINES = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };

/** The facts the check needs, from `readelf --wide -h -d -S -V` of one file. */
function parseReadelf(text) {
  const machine = /^\s*Machine:\s+(.+?)\s*$/m.exec(text)?.[1];
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  // Only the version needs (.gnu.version_r), not the file's own definitions.
  const needs = text.split(/^Version needs section/m)[1]?.split(/^\S/m)[0] ?? '';
  const versions = [...needs.matchAll(/^\s*0x[0-9a-f]+:\s+Name: (\S+)/gm)].map((m) => m[1]);
  const symtab = /\]\s+\.symtab\s/.test(text);
  return { machine, needed, versions, symtab };
}

const versionKey = (v) => v.split('.').map(Number);
function newer(a, b) {
  const [x, y] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

/** Problems with one prebuild, and the one-line summary of what it needs. */
function check(arch, facts) {
  const problems = [];
  if (facts.machine !== MACHINES[arch]) problems.push(`machine is ${facts.machine}, not ${MACHINES[arch]}`);
  const glibc = facts.versions.filter((v) => v.startsWith('GLIBC_2.')).map((v) => v.slice('GLIBC_'.length));
  const highest = glibc.reduce((a, b) => (newer(b, a) ? b : a), '0');
  if (newer(highest, GLIBC_FLOOR)) problems.push(`needs GLIBC_${highest}, newer than GLIBC_${GLIBC_FLOOR}`);
  const cxx = facts.versions.filter((v) => /^(GLIBCXX|CXXABI)_/.test(v)).sort();
  if (cxx.length) problems.push(`needs ${cxx.join(', ')} (libstdc++ must be linked statically)`);
  const shared = facts.needed.filter((lib) => /^lib(stdc\+\+|gcc_s)\./.test(lib));
  if (shared.length) problems.push(`links ${shared.join(', ')} dynamically`);
  if (facts.symtab) problems.push('not stripped (has .symtab)');
  const summary = `${facts.machine}; needs ${facts.needed.join(' ')}; highest GLIBC_${highest}; ` +
    `${cxx.length ? cxx.join(' ') : 'no GLIBCXX_/CXXABI_'}; ${facts.symtab ? 'not stripped' : 'stripped'}`;
  return { problems, summary };
}

function main(args) {
  if (args.length === 0 || args.length % 2 !== 0) {
    console.error('usage: check-prebuild.js ARCH FILE [ARCH FILE ...]');
    return 2;
  }
  let failed = false;
  for (let i = 0; i < args.length; i += 2) {
    const [arch, file] = [args[i], args[i + 1]];
    if (!fs.existsSync(file)) {
      console.error(`  FAIL ${file}: missing (npm run prebuild makes it)`);
      failed = true;
      continue;
    }
    const text = execFileSync('readelf', ['--wide', '-h', '-d', '-S', '-V', file], { encoding: 'utf8' });
    const { problems, summary } = check(arch, parseReadelf(text));
    console.log(`${file}: ${summary}`);
    for (const p of problems) console.error(`  FAIL ${file}: ${p}`);
    failed ||= problems.length > 0;
  }
  return failed ? 1 : 0;
}

module.exports = { parseReadelf, check, GLIBC_FLOOR };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
