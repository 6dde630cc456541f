// The training loop's kit: the LR schedulers of torch.optim.lr_scheduler,
// gradient clipping (torch.nn.utils) and weight EMA (torch.optim.swa_utils).
export { LRScheduler, SchedulerBase, type LrOptimizer, type SchedulerStateDict } from './scheduler';
export {
  ConstantLR,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  MultiplicativeLR,
  MultiStepLR,
  PolynomialLR,
  StepLR,
  type ConstantLROptions,
  type ExponentialLROptions,
  type LambdaLROptions,
  type LinearLROptions,
  type LrLambda,
  type MultiStepLROptions,
  type PolynomialLROptions,
  type StepLROptions,
} from './factor';
export { CosineAnnealingLR, CosineAnnealingWarmRestarts, type CosineAnnealingLROptions, type CosineAnnealingWarmRestartsOptions } from './cosine';
export { CyclicLR, OneCycleLR, type CyclicLROptions, type CyclicMode, type OneCycleLROptions, type SchedulePhase } from './cyclic';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau';
export { ChainedScheduler, SequentialLR, type SequentialLROptions } from './composite';
export {
  clipCoefficient,
  clipGradNorm,
  clipGradsWithNorm,
  clipGradValue,
  getTotalNorm,
  type ClipGradNormOptions,
  type ClipGradValueOptions,
} from './clip';
export { EMA, type EMAOptions } from './ema';
