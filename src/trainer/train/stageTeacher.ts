/**
 * The teacher of a DPT/DFT stage: replayed from the teacher-output cache (built on first use for
 * the samples the stage draws, in the format `distill.teacherCache` names, recorded in
 * status.json), or run online when the cache is `off` or the entry would exceed
 * `distill.teacherCacheMaxMB`.
 */
import type { StagePlan } from '../../common/stagePlan';
import { visionCheckpoint } from '../../common/stagePlan';
import type { EncodedSample } from '../data/encodedSample';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import { findCheckpoint, type RunContext } from './runContext';
import { OnlineTeacher, type TeacherSource } from './step';
import { cacheBytes, CachedTeacher, defaultCacheDir, describeStats, teacherCacheKey } from './teacherCache';
import type { RowFormat } from './teacherCacheCodec';

/**
 * @param set the stage's data set; `draws` the data-set indices the stage will draw (with repeats)
 */
export function openTeacherSource(ctx: Pick<RunContext, 'cfg' | 'data' | 'writer' | 'fromDirs' | 'log' | 'warn'>, stage: StagePlan, teacher: Mllm, vision: VisionEncoder, set: EncodedSample[], draws: number[]): TeacherSource {
  const d = ctx.cfg.distill;
  if (d.teacherCache === 'off') return new OnlineTeacher(teacher);
  const format: RowFormat = d.teacherCache === 'topk' ? { mode: 'topk', k: d.teacherCacheTopK } : { mode: d.teacherCache };
  // Only the samples the stage draws (ascending data-set index).
  const ids = [...new Set(draws)].sort((a, b) => a - b);
  const sub = ids.map((i) => set[i]);
  const mb = cacheBytes(sub, ctx.data.np, teacher.vocab, format) / 1e6;
  if (mb > d.teacherCacheMaxMB) {
    (ctx.warn ?? ctx.log)(`stage ${stage.id}: the teacher-output cache would take ${mb.toFixed(1)} MB, over distill.teacherCacheMaxMB (${d.teacherCacheMaxMB}): running the teacher online (choose distill.teacherCache "fp16" or "topk", or raise the limit)`);
    return new OnlineTeacher(teacher);
  }
  const vis = visionCheckpoint(ctx.cfg);
  const ckpts = [findCheckpoint(ctx, stage.teacher!, stage.id), vis ? findCheckpoint(ctx, vis, stage.id) : null];
  const key = teacherCacheKey(ckpts, sub, format);
  const cached = CachedTeacher.openOrBuild(defaultCacheDir(), key, sub, ids, teacher, vision, ctx.data.np, ctx.data.patchDim, ctx.data.tokenizer.padId, ctx.log, format);
  ctx.log(`stage ${stage.id}: teacher outputs from the cache ${cached.dir} (key ${key}, ${d.teacherCache}${format.k ? ` k ${format.k}` : ''})${describeStats(cached.stats)}`);
  ctx.writer.updateStatus({ teacherCache: { ...ctx.writer.status?.teacherCache, [stage.id]: { key, path: cached.dir, mode: format.mode, ...(format.k ? { k: format.k } : {}), ...(cached.stats ? { stats: cached.stats } : {}) } } });
  return cached;
}
