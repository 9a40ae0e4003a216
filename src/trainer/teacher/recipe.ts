/**
 * What a trained teacher side (the shared vision encoder + the teacher MLLM) depends on, and its
 * store key: the resolved config fields that change its weights, the data fingerprint and the
 * model-format version. Fields that only change what is logged (evalEvery, logEvery,
 * checkpointEvery, eval.*) are left out, and so are the backend and the thread count (they change
 * the last float bits, not the teacher; the manifest records both). Pure TypeScript.
 */
import { createHash } from 'node:crypto';
import type { ExperimentConfig, StageConfig } from '../config/types';

/** Bump when the checkpoint layout or the meaning of the stored teacher changes (old entries stop matching). */
export const TEACHER_FORMAT_VERSION = 1;

/** The training-relevant part of a stage config. */
function stageRecipe(s: StageConfig): Omit<StageConfig, 'evalEvery' | 'logEvery' | 'checkpointEvery'> {
  const { steps, batchSize, gradAccum, optimizer, warmupRatio, minLrRatio, clipNorm, loss } = s;
  return { steps, batchSize, gradAccum, optimizer, warmupRatio, minLrRatio, clipNorm, loss };
}

/** Everything of the config the teacher side's weights depend on (stable field order). */
export function teacherRecipe(cfg: ExperimentConfig): Record<string, unknown> {
  const t = cfg.teacher;
  const pretrain = cfg.pipeline.pretrain;
  return {
    formatVersion: TEACHER_FORMAT_VERSION,
    data: { source: cfg.data.source, maxLength: cfg.data.maxLength, systemPrompt: cfg.data.systemPrompt },
    vision: cfg.vision,
    visionStage: pretrain ? stageRecipe(cfg.stages.vision) : null,
    teacher: { lm: t.lm, projector: t.projector, seed: t.seed },
    lmStage: pretrain && t.lmPretrain ? stageRecipe(cfg.stages.lm) : null,
    track: cfg.pipeline.teacher.map((k) => ({ kind: k, ...stageRecipe(t.stages[k as 'pt' | 'sft']) })),
  };
}

/** Canonical JSON (sorted keys), so the key does not depend on field order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The store key of a teacher side: 24 hex digits of SHA-256 over the recipe and the data fingerprint. */
export function teacherKey(cfg: ExperimentConfig, dataFingerprint: string): string {
  return createHash('sha256').update(`llava-kd teacher v${TEACHER_FORMAT_VERSION}\n${canonicalJson(teacherRecipe(cfg))}\n${dataFingerprint}`).digest('hex').slice(0, 24);
}
