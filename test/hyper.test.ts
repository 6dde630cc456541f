// effectiveWindow / alphaForWindow: RMSprop's memory length and its inverse.
import { expect } from 'chai';
import { alphaForWindow, effectiveWindow } from '../lib';

describe('hyperparameter helpers', () => {
  it('gives the window of alpha, 1 / (1 - alpha), and back', () => {
    expect(effectiveWindow(0.9)).to.be.closeTo(10, 1e-12);
    expect(effectiveWindow(0.99)).to.be.closeTo(100, 1e-9);
    expect(effectiveWindow(0)).to.equal(1);
    expect(alphaForWindow(10)).to.be.closeTo(0.9, 1e-15);
    expect(alphaForWindow(1)).to.equal(0);
    for (const steps of [1, 2, 10, 100, 1000]) expect(effectiveWindow(alphaForWindow(steps))).to.be.closeTo(steps, steps * 1e-12);
  });

  it('matches how fast the average forgets: after w steps, a gradient weighs about 1/e as much', () => {
    const alpha = alphaForWindow(50);
    expect(alpha ** 50).to.be.closeTo(Math.exp(-1), 0.01);
  });

  it('rejects alpha outside [0, 1) and windows below one step', () => {
    expect(() => effectiveWindow(1)).to.throw(RangeError, /Invalid alpha value: 1/);
    expect(() => effectiveWindow(-0.1)).to.throw(RangeError, /alpha/);
    expect(() => alphaForWindow(0.5)).to.throw(RangeError, /Invalid window: 0.5 \(steps must be/);
    expect(() => alphaForWindow(NaN)).to.throw(RangeError, /steps/);
  });
});
