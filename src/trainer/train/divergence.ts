/**
 * Divergence watch of a training stage: updates that blow up or die without producing a NaN (a
 * NaN is caught by the loss and weight checks). Per step it sees the loss, the global gradient
 * norm before clipping and the learning rate, and on logged steps the global weight norm of the
 * trained parameters; it reports, once per kind and stage:
 * - vanishing updates: gradient norm 0 for `zeroSteps` steps in a row while lr > 0;
 * - exploding gradients: a gradient norm above `gradFactor` × the median of the last `window`;
 * - loss spikes: a loss above `lossFactor` × the median of the last `window` (and 1 above it);
 * - weight growth: a weight norm above `weightFactor` × its value before the stage's first update;
 * - a non-finite gradient norm while the loss is finite (exploding).
 * Pure TypeScript (numbers in, messages out), unit-tested in test/divergence.test.ts.
 */

export type DivergenceKind = 'vanishing-gradient' | 'exploding-gradient' | 'loss-spike' | 'weight-growth';

export interface DivergenceWarning {
  kind: DivergenceKind;
  stage: string;
  step: number;
  message: string;
}

export interface DivergenceOptions {
  window: number;
  zeroSteps: number;
  gradFactor: number;
  lossFactor: number;
  weightFactor: number;
}

export const DEFAULT_DIVERGENCE: DivergenceOptions = { window: 20, zeroSteps: 5, gradFactor: 1000, lossFactor: 10, weightFactor: 100 };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export class DivergenceMonitor {
  private readonly losses: number[] = [];
  private readonly grads: number[] = [];
  private zeroRun = 0;
  private firstWeightNorm: number | undefined;
  private readonly reported = new Set<DivergenceKind>();

  /** @param initialWeightNorm the trained parameters' norm before the stage's first update (the weight-growth reference) */
  constructor(private readonly stage: string, initialWeightNorm?: number, private readonly o: DivergenceOptions = DEFAULT_DIVERGENCE) {
    this.firstWeightNorm = initialWeightNorm;
  }

  /**
   * One optimizer step. @param weightNorm global L2 norm of the trained parameters after the
   * step, when measured (logged steps). @returns the warnings first raised at this step
   */
  observe(step: number, loss: number, gradNorm: number, lr: number, weightNorm?: number): DivergenceWarning[] {
    const out: DivergenceWarning[] = [];
    const warn = (kind: DivergenceKind, message: string) => {
      if (this.reported.has(kind)) return;
      this.reported.add(kind);
      out.push({ kind, stage: this.stage, step, message: `divergence: ${this.stage} step ${step}: ${message}` });
    };
    this.zeroRun = gradNorm === 0 && lr > 0 ? this.zeroRun + 1 : 0;
    if (this.zeroRun >= this.o.zeroSteps) warn('vanishing-gradient', `gradient norm 0 for ${this.zeroRun} steps in a row at lr ${lr.toExponential(2)}: the weights no longer change (saturated or dead units, usually after a too-large learning rate)`);
    if (!Number.isFinite(gradNorm)) warn('exploding-gradient', `gradient norm ${gradNorm} (the loss was still finite)`);
    else if (this.grads.length >= this.o.window) {
      const mg = median(this.grads);
      if (mg > 0 && gradNorm > this.o.gradFactor * mg) warn('exploding-gradient', `gradient norm ${gradNorm.toExponential(2)} is ${(gradNorm / mg).toFixed(0)}× the median of the last ${this.o.window} steps (${mg.toExponential(2)})`);
      const ml = median(this.losses);
      if (loss > this.o.lossFactor * ml && loss > ml + 1) warn('loss-spike', `loss ${loss.toFixed(4)} is ${(loss / ml).toFixed(1)}× the median of the last ${this.o.window} steps (${ml.toFixed(4)})`);
    }
    if (weightNorm !== undefined && Number.isFinite(weightNorm)) {
      if (this.firstWeightNorm === undefined) this.firstWeightNorm = weightNorm;
      else if (this.firstWeightNorm > 0 && weightNorm > this.o.weightFactor * this.firstWeightNorm) {
        warn('weight-growth', `weight norm ${weightNorm.toExponential(2)} is ${(weightNorm / this.firstWeightNorm).toFixed(0)}× its value at the start of the stage (${this.firstWeightNorm.toExponential(2)})`);
      }
    }
    this.losses.push(loss);
    this.grads.push(gradNorm);
    if (this.losses.length > this.o.window) { this.losses.shift(); this.grads.shift(); }
    return out;
  }
}
