/**
 * Before a run folder exists: every checkpoint the planned stages will read from other run
 * folders (`--from`) is found, and its header holds each tensor the stage loads with the shape
 * the config's model sizes give and a float dtype. A wrong `--from` is then an input error
 * naming the file and the tensor, not a failed run folder.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/types';
import { readSafetensorsHeader } from '../io/safetensors';
import { Mllm } from '../models/mllm';
import { VisionEncoder } from '../models/vision';
import { visionCheckpoint, type StagePlan } from '../../common/stagePlan';

const FLOATS = new Set(['F32', 'F16', 'BF16']);

/** Names and shapes of the parameters of a model the config describes (built, read, disposed). */
function expected(cfg: ExperimentConfig, which: 'teacher' | 'student' | 'vision', vocab: number): Map<string, number[]> {
  const m = which === 'vision' ? new VisionEncoder(cfg.vision, 0) : new Mllm(cfg[which], cfg.vision.dim, vocab, 0);
  try {
    const prefix = which === 'vision' ? 'vision.' : '';
    return new Map(m.params.names(['']).map((n) => [prefix + n, m.params.get(n).shape]));
  } finally {
    if (m instanceof VisionEncoder) m.params.dispose();
    else m.dispose();
  }
}

/**
 * @param plan the stages this run will train
 * @param fromDirs the `--from` run folders, searched in order
 * @throws an Error naming the checkpoint file, the tensor and what was expected
 */
export function checkFromCheckpoints(cfg: ExperimentConfig, plan: StagePlan[], fromDirs: string[], vocab: number): void {
  const produced = new Set(plan.map((s) => s.output));
  const wanted = new Map<string, { which: 'teacher' | 'student' | 'vision'; by: string }>();
  const vis = visionCheckpoint(cfg);
  for (const s of plan) {
    if (!s.model) continue;
    if (s.init && !produced.has(s.init)) wanted.set(s.init, { which: s.model, by: s.id });
    if (s.teacher && !produced.has(s.teacher)) wanted.set(s.teacher, { which: 'teacher', by: s.id });
    if (vis && !produced.has(vis) && !wanted.has(vis)) wanted.set(vis, { which: 'vision', by: s.id });
  }
  const shapes = new Map<string, Map<string, number[]>>();
  for (const [name, { which, by }] of wanted) {
    const file = fromDirs.map((d) => join(d, 'checkpoints', `${name}.safetensors`)).find((f) => existsSync(f));
    if (!file) {
      throw new Error(`stage ${by} needs checkpoint '${name}.safetensors'${fromDirs.length ? `, found in none of the --from folders: ${fromDirs.map((d) => join(d, 'checkpoints')).join(', ')}` : ', which no stage of this run writes: pass --from <run folder> holding it'}`);
    }
    const header = readSafetensorsHeader(file);
    if (!shapes.has(which)) shapes.set(which, expected(cfg, which, vocab));
    for (const [tensor, shape] of shapes.get(which)!) {
      const e = header.tensors[tensor];
      if (!e) throw new Error(`${file}: no tensor '${tensor}' (stage ${by} loads the ${which} from this checkpoint; is it a ${which} checkpoint of this config?)`);
      if (!FLOATS.has(e.dtype)) throw new Error(`${file}: tensor '${tensor}' has dtype ${e.dtype}, expected a float (F32, F16 or BF16)`);
      if (e.shape.join(',') !== shape.join(',')) throw new Error(`${file}: tensor '${tensor}' has shape [${e.shape}], expected [${shape}] (the ${which} sizes in the config differ from the checkpoint's)`);
    }
  }
}
