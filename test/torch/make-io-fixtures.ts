// Regenerates test/fixtures/torch-files/<version>/ from real PyTorch 1.13 and
// 2.6 (both must be installed: scripts/setup-torch.sh):
//   npx tsx test/torch/make-io-fixtures.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pythonOracles } from './python';

const script = fs.readFileSync(path.join(__dirname, 'io_oracle.py'), 'utf8');
const oracles = pythonOracles();
if (oracles.length !== 2) throw new Error('both PyTorch oracles are needed: run scripts/setup-torch.sh');
for (const oracle of oracles) {
  const dir = oracle.tempDir();
  const answer = oracle.run(script, { mode: 'fixtures', dir: dir.python }) as { torch: string };
  const target = path.join(__dirname, '..', 'fixtures', 'torch-files', oracle.id);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  for (const name of fs.readdirSync(dir.host)) fs.copyFileSync(path.join(dir.host, name), path.join(target, name));
  fs.rmSync(dir.host, { recursive: true, force: true });
  console.log(`${target}: PyTorch ${answer.torch}`);
}
