// Regenerates test/fixtures/pytorch-clip-ema.json.gz from the PyTorch 2.6
// oracle (bash scripts/setup-torch.sh installs it):
//   npx tsx test/torch/make-clip-fixtures.ts
import { makeClipFixtures } from './clip-cases';

makeClipFixtures();
console.log('wrote test/fixtures/pytorch-clip-ema.json.gz');
