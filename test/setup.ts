// Loaded before the test files (.mocharc.json). The tests use the test build
// of the addon, build/Release/simd_optim_test.node, which adds the exports
// only tests need (where an array lies in memory); `npm test` builds it
// (build:test-addon). A run that names its own build keeps it: the sanitizer
// and package tests set SIMD_OPTIM_BINDING themselves.
import * as fs from 'node:fs';
import * as path from 'node:path';

const testAddon = path.join(__dirname, '..', 'build', 'Release', 'simd_optim_test.node');
if (!process.env.SIMD_OPTIM_BINDING && fs.existsSync(testAddon)) process.env.SIMD_OPTIM_BINDING = testAddon;
