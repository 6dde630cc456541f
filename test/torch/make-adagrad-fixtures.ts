// Regenerates test/fixtures/adagrad-torch.json.gz from both PyTorch oracles:
//   npx tsx test/torch/make-adagrad-fixtures.ts
import { makeFixtures } from './adagrad-cases';

makeFixtures();
console.log('wrote test/fixtures/adagrad-torch.json.gz');
