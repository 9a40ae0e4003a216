/**
 * Checkpoints as safetensors: model weights (`vision.*`, `projector.*`, `lm.*`, `head.*`),
 * optimizer moments (`optim.m.*`, `optim.v.*`) and metadata (resolved config, stage, step,
 * optimizer step count, data cursor): everything needed to resume exactly.
 */
import type { ExperimentConfig } from '../config/types';
import { readSafetensors, writeSafetensors, type WritableTensor } from './safetensors';
import type { TensorData } from '../nn/params';

export const CHECKPOINT_FORMAT = 'llava-kd-checkpoint/1';

export interface CheckpointMeta {
  format: string;
  /** `final` = end-of-stage weights; `resume` = in-stage state with optimizer. */
  kind: 'final' | 'resume';
  stage: string;
  /** Optimizer steps done in the stage. */
  step: number;
  /** Updates applied by the optimizer (bias correction), resume only. */
  optimizerT?: number;
  /** Samples consumed in the stage (the data position), resume only. */
  cursor?: number;
  /** Stages completed before this one, resume only. */
  completedStages?: string[];
  /** Which model the weights belong to (`vision`, `teacher`, `student`, `baseline`, `kd`). */
  track: string;
  config: ExperimentConfig;
  /** Absolute path of the experiment file (data paths in `config` are relative to it). */
  experimentFile?: string;
  /** When it was written (absent in the canonical checkpoints of the teacher store, which must be reproducible bit for bit). */
  savedAt?: string;
  /** Key of the teacher-store entry a canonical checkpoint belongs to. */
  teacherStore?: string;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  tensors: Record<string, TensorData>;
  /** Tensors whose names start with `prefix`, with the prefix removed. */
  group(prefix: string): Record<string, TensorData>;
}

export function saveCheckpoint(path: string, tensors: Record<string, TensorData>, meta: Omit<CheckpointMeta, 'format' | 'savedAt'>): void {
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    meta: JSON.stringify({ ...meta, format: CHECKPOINT_FORMAT, savedAt: new Date().toISOString() }),
  };
  writeSafetensors(path, tensors as Record<string, WritableTensor>, metadata);
}

/**
 * Writes `meta` as given (no `savedAt`): the same tensors and meta give the same bytes, which is
 * what the teacher store's reproducibility check needs.
 */
export function saveCanonicalCheckpoint(path: string, tensors: Record<string, TensorData>, meta: Omit<CheckpointMeta, 'format' | 'savedAt'>): void {
  writeSafetensors(path, tensors as Record<string, WritableTensor>, { format: CHECKPOINT_FORMAT, meta: JSON.stringify({ ...meta, format: CHECKPOINT_FORMAT }) });
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  const file = readSafetensors(path);
  if (file.metadata.format !== CHECKPOINT_FORMAT || !file.metadata.meta) {
    throw new Error(`${path}: not a LLaVA-KD checkpoint (metadata.format is ${JSON.stringify(file.metadata.format)}, expected "${CHECKPOINT_FORMAT}")`);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(file.metadata.meta) as CheckpointMeta;
  } catch (e) {
    throw new Error(`${path}: checkpoint metadata is not valid JSON: ${(e as Error).message}`);
  }
  const tensors: Record<string, TensorData> = {};
  for (const [n, t] of Object.entries(file.tensors)) {
    if (t.dtype === 'U8') continue;
    tensors[n] = { dtype: t.dtype, shape: t.shape, data: t.data as Float32Array | Int32Array };
  }
  return {
    meta,
    tensors,
    group(prefix: string) {
      const out: Record<string, TensorData> = {};
      for (const [n, t] of Object.entries(tensors)) if (n.startsWith(prefix)) out[n.slice(prefix.length)] = t;
      return out;
    },
  };
}
