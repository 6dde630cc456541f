// Regenerates test/fixtures/pytorch-schedulers.json.gz from both PyTorch
// oracles (bash scripts/setup-torch.sh installs them):
//   npx tsx test/torch/make-sched-fixtures.ts
import { makeSchedFixtures } from './sched-cases';

makeSchedFixtures();
console.log('wrote test/fixtures/pytorch-schedulers.json.gz');
