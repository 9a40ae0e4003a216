/**
 * The remaining time of a run, from step times measured per kind of step: a teacher step (LM 128 × 3
 * at the default sizes) costs several times a student step, so the current stage's step time
 * applied to every remaining stage (what the trainer did before) swung the ETA from minutes to
 * hours as a run moved between them. A stage whose kind of step this process has already timed
 * is estimated from that time (firm); one not yet timed from the measured seconds per estimated
 * GFLOP of the stages timed so far (stepCost.ts), and the whole estimate is then marked rough.
 * Pure (no tfjs), unit-tested in test/runEta.test.ts.
 */

/** What decides a step's cost: the model trained, whether a teacher runs online, and the stage kind. */
export interface StepClass {
  /** e.g. `teacher:sft`, `student:dft+teacher`, `vision:vision`. */
  key: string;
  /** Estimated GFLOP of one optimizer step (every micro-batch of it). */
  gflop: number;
}

export interface RemainingStage extends StepClass {
  steps: number;
}

export interface EtaEstimate {
  seconds: number;
  /** True when some remaining stage's kind of step has not been timed yet (its time is scaled from others by FLOPs). */
  rough: boolean;
}

export class RunEta {
  /** Mean seconds per optimizer step of each timed class (the latest measurement). */
  private readonly measured = new Map<string, { secPerStep: number; gflop: number }>();

  /** Records the recent mean step time of a class (seconds, evals excluded). */
  observe(c: StepClass, secPerStep: number): void {
    if (Number.isFinite(secPerStep) && secPerStep > 0) this.measured.set(c.key, { secPerStep, gflop: c.gflop });
  }

  /** Seconds per GFLOP over every timed class (their total time over their total work). */
  private secPerGflop(): number | null {
    let s = 0;
    let g = 0;
    for (const m of this.measured.values()) {
      s += m.secPerStep;
      g += m.gflop;
    }
    return g > 0 ? s / g : null;
  }

  /**
   * Time left: the current stage's remaining steps and evals, then each stage still to run.
   * @param currentSteps steps left in the current stage (its class must have been observed)
   * @param currentEvals seconds of the evaluations still due in the current stage
   */
  estimate(current: StepClass, currentSteps: number, currentEvals: number, rest: RemainingStage[]): EtaEstimate {
    const cur = this.measured.get(current.key);
    const perGflop = this.secPerGflop();
    let seconds = (cur ? cur.secPerStep * currentSteps : 0) + currentEvals;
    let rough = !cur;
    for (const s of rest) {
      const m = this.measured.get(s.key);
      if (m) seconds += m.secPerStep * s.steps;
      else {
        rough = true;
        if (perGflop !== null) seconds += perGflop * s.gflop * s.steps;
      }
    }
    return { seconds: Math.round(seconds), rough };
  }
}
