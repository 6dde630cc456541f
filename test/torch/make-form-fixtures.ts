// Rewrites test/fixtures/torch-files/forms-<version>/ from real PyTorch 1.13
// and 2.6 (both must be installed: scripts/setup-torch.sh):
//   npx tsx test/torch/make-form-fixtures.ts
// make_forms.py's corpus and manifest, less the forms listed in LEFT_OUT, so
// that both folders stay under 100 KB.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeForms } from './forms';
import { pythonOracles } from './python';

// The committed torch-<version>/model.pt is this form already.
const LEFT_OUT = ['model-protocol-2.pt'];

const oracles = pythonOracles();
if (oracles.length !== 2) throw new Error('both PyTorch oracles are needed: run scripts/setup-torch.sh');
for (const oracle of oracles) {
  const { dir, manifest } = makeForms(oracle);
  const target = path.join(__dirname, '..', 'fixtures', 'torch-files', `forms-${oracle.id.slice('torch-'.length)}`);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  // make_forms.py's lines, one per form, as they are: JSON.stringify would write -0 as 0.
  const text = fs.readFileSync(path.join(dir.host, 'forms.json'), 'utf8').trimEnd().split('\n');
  const lines = text.slice(1, -1).map((line) => line.replace(/,$/, ''));
  const kept = Object.keys(manifest.forms).filter((name) => !LEFT_OUT.includes(name));
  for (const name of kept) fs.copyFileSync(path.join(dir.host, name), path.join(target, name));
  const keptLines = lines.filter((line) => kept.includes(JSON.parse(line.slice(0, line.indexOf(': {'))) as string));
  fs.writeFileSync(path.join(target, 'forms.json'), [text[0], keptLines.join(',\n'), text[text.length - 1]].join('\n') + '\n');
  fs.rmSync(dir.host, { recursive: true, force: true });
  console.log(`${target}: PyTorch ${manifest.torch}, ${kept.length} forms`);
}
