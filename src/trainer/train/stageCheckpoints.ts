/**
 * The checkpoints one stage writes: the resumable one (models + AdamW moments + data cursor, every
 * `checkpointEvery` steps and on stop) and the final one at the end; neither is written when a
 * weight or moment is non-finite, so the newest finite checkpoint always stays in place.
 */
import type { StagePlan } from '../../common/stagePlan';
import { saveCheckpoint } from '../io/checkpoint';
import type { TensorData } from '../nn/params';
import type { AdamW } from './adamw';
import type { RunContext } from './runContext';
import { finalTensors, modelTensors, type StageModels } from './stageModels';

export class StageCheckpoints {
  /** The step of the newest finite resumable checkpoint of this stage (named when the weights go bad). */
  private lastGood: number | undefined;

  /**
   * @param perStep samples drawn per optimizer step (batch × gradAccum): the data cursor of a resume checkpoint
   * @param resumedAt the step the stage resumed at, if it did (its checkpoint was finite)
   */
  constructor(
    private readonly ctx: Pick<RunContext, 'cfg' | 'experimentFile' | 'writer' | 'completed' | 'emit'>,
    private readonly stage: StagePlan,
    private readonly models: StageModels,
    private readonly optimizer: AdamW,
    private readonly perStep: number,
    resumedAt: number | undefined,
  ) {
    this.lastGood = resumedAt;
  }

  /** Writes `resume.safetensors` at `step` (after `step` optimizer steps). */
  saveResume(step: number): void {
    const { ctx, stage } = this;
    const opt = this.optimizer.export();
    const tensors: Record<string, TensorData> = { ...modelTensors(this.models) };
    for (const [n, t] of Object.entries(opt.tensors)) tensors[`optim.${n}`] = t;
    assertFinite(tensors, stage.id, step, this.lastGood);
    this.lastGood = step;
    const path = ctx.writer.checkpointPath('resume');
    saveCheckpoint(path, tensors, { kind: 'resume', stage: stage.id, step, optimizerT: opt.t, cursor: step * this.perStep, completedStages: [...ctx.completed], track: stage.track, config: ctx.cfg, experimentFile: ctx.experimentFile });
    ctx.emit({ event: 'checkpoint', stage: stage.id, step, path });
  }

  /** Writes the stage's final checkpoint (`<track>-<kind>.safetensors`); returns its path. */
  saveFinal(step: number): string {
    const { ctx, stage } = this;
    const out = ctx.writer.checkpointPath(stage.output);
    const tensors = finalTensors(this.models);
    assertFinite({ ...tensors, ...Object.fromEntries(Object.entries(this.optimizer.export().tensors).map(([n, t]) => [`optim.${n}`, t])) }, stage.id, step, this.lastGood);
    saveCheckpoint(out, tensors, { kind: 'final', stage: stage.id, step, track: stage.track, config: ctx.cfg, experimentFile: ctx.experimentFile });
    return out;
  }
}

/**
 * Refuses to write a checkpoint holding a non-finite weight or optimizer moment: the update of
 * the last step blew up although its loss was finite. The newest finite checkpoint stays in place.
 */
function assertFinite(tensors: Record<string, TensorData>, stage: string, step: number, lastGood: number | undefined): void {
  for (const [name, t] of Object.entries(tensors)) {
    const d = t.data as Float32Array;
    let bad = 0;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) bad++;
    if (bad) {
      const kept = lastGood !== undefined
        ? `the last finite checkpoint (resume.safetensors, ${stage} step ${lastGood}) is kept: resume continues from it`
        : `no resumable checkpoint of ${stage} was written before`;
      throw new Error(`non-finite weights at stage ${stage} step ${step}: '${name}' holds ${bad} of ${d.length} non-finite values (the update diverged; the loss was still finite). The checkpoint was not written; ${kept}. Lower the learning rate (stages.*.optimizer.lr) or clip harder (clipNorm).`);
    }
  }
}
