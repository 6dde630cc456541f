// Steps a deterministic RMSprop and saves a checkpoint after every step, for
// ever, printing "saved <step>" after each save; test/checkpoint-crash.test.ts
// kills it with SIGKILL at random moments. Usage: save-loop.js <file> <numel>
'use strict';
const { Parameter, RMSprop, saveTorch } = require('../../dist');
const { trainingRun } = require('./training-run');

const [file, numel] = [process.argv[2], Number(process.argv[3])];
const run = trainingRun(numel, { Parameter, RMSprop });
(async () => {
  for (;;) {
    run.next();
    await saveTorch(run.opt.stateDict(), file);
    process.stdout.write(`saved ${run.step}\n`);
  }
})();
