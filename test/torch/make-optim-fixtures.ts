// Regenerates test/fixtures/pytorch-optim.json.gz from both PyTorch oracles
// (bash scripts/setup-torch.sh installs them):
//   npx tsx test/torch/make-optim-fixtures.ts
import { makeFixtures } from './optim-cases';

makeFixtures();
console.log('wrote test/fixtures/pytorch-optim.json.gz');
