// The deterministic training run both the killed child and the checking
// parent replay: one param, momentum and centered (three state buffers), a
// gradient that depends only on the step number.
'use strict';

function trainingRun(numel, { Parameter, RMSprop }) {
  const p = new Parameter(new Float32Array(numel).fill(0.5));
  const opt = new RMSprop([p], { lr: 0.01, momentum: 0.9, centered: true });
  const grad = new Float32Array(numel);
  const run = {
    opt,
    step: 0,
    next() {
      run.step++;
      for (let i = 0; i < numel; i++) grad[i] = Math.sin(run.step * 0.37 + i * 0.01);
      p.grad = grad;
      opt.step();
    },
  };
  return run;
}

module.exports = { trainingRun };
