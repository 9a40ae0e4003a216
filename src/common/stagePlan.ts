/**
 * The stage plan of an experiment: which stages run in which order, which checkpoint each one
 * starts from, and where the teacher comes from. Pure logic (no tensors), shared by the trainer and
 * the host (which derives its stage pickers from the experiment's own plan), unit-tested.
 */
import type { ExperimentConfig, StageConfig } from '../trainer/config/types';
import type { StageKind } from './runFormat';

export interface StagePlan {
  id: string;
  track: 'vision' | 'teacher' | 'student' | 'baseline' | 'kd';
  kind: StageKind;
  /** Which LM/projector sizes: teacher or student. */
  model: 'teacher' | 'student' | null;
  /** Checkpoint name (without extension) the stage's model starts from; null = fresh init. */
  init: string | null;
  /** Teacher checkpoint needed (dpt/dft), else null. */
  teacher: string | null;
  /** Name of the checkpoint written at the end. */
  output: string;
  /** Last stage of a teacher/baseline/kd track: evaluated on the test split. */
  endsTrack: boolean;
}

export const ckptName = (id: string): string => id.replace('/', '-');

/** Every stage of the experiment in execution order. */
export function fullPlan(cfg: ExperimentConfig): StagePlan[] {
  const out: StagePlan[] = [];
  const p = cfg.pipeline;
  const teacherFinal = p.teacher.length ? `teacher-${p.teacher[p.teacher.length - 1]}` : null;
  if (p.pretrain) {
    out.push({ id: 'vision/vision', track: 'vision', kind: 'vision', model: null, init: null, teacher: null, output: 'vision-vision', endsTrack: false });
    if (cfg.teacher.lmPretrain) out.push({ id: 'teacher/lm', track: 'teacher', kind: 'lm', model: 'teacher', init: null, teacher: null, output: 'teacher-lm', endsTrack: false });
  }
  const track = (name: 'teacher' | 'baseline' | 'kd', kinds: StageKind[]) => {
    let prev: string | null = !p.pretrain ? null : name !== 'teacher' ? 'student-lm' : cfg.teacher.lmPretrain ? 'teacher-lm' : null;
    kinds.forEach((kind, i) => {
      const id = `${name}/${kind}`;
      out.push({
        id, track: name, kind, model: name === 'teacher' ? 'teacher' : 'student', init: prev,
        teacher: kind === 'dpt' || kind === 'dft' ? teacherFinal : null,
        output: ckptName(id), endsTrack: i === kinds.length - 1,
      });
      prev = ckptName(id);
    });
  };
  track('teacher', p.teacher);
  if (p.pretrain && (p.baseline.length || p.kd.length)) {
    out.push({ id: 'student/lm', track: 'student', kind: 'lm', model: 'student', init: null, teacher: null, output: 'student-lm', endsTrack: false });
  }
  track('baseline', p.baseline);
  track('kd', p.kd);
  return out;
}

/**
 * The stages whose final checkpoints stage `id` reads: the one its model starts from, its teacher,
 * and the vision encoder (when pre-training is on), as stage ids of the plan, in that order.
 * @throws when the plan has no stage `id`
 */
export function stageInputs(plan: StagePlan[], id: string): string[] {
  const stage = plan.find((s) => s.id === id);
  if (!stage) throw new Error(`the pipeline has no stage '${id}'; it has: ${plan.map((s) => s.id).join(', ')}`);
  const byOutput = (name: string | null) => (name ? plan.find((s) => s.output === name)?.id : undefined);
  const vision = stage.model ? byOutput('vision-vision') : undefined;
  return [byOutput(stage.init), byOutput(stage.teacher), vision].filter((x): x is string => !!x);
}

/** `--stages` name of the teacher side: vision pre-training and the whole teacher track (what the teacher store holds). */
export const TEACHER_SIDE = 'teacher-side';

/**
 * Selects stages by a comma-separated spec of stage ids (`kd/dft`), track names (`teacher`,
 * `baseline`, `kd`, `pretrain`, `teacher-side`) or `all`. Unknown names are an error listing the valid ones.
 */
export function selectStages(plan: StagePlan[], spec: string | undefined): StagePlan[] {
  if (!spec || spec === 'all') return plan;
  const wanted = new Set<string>();
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const matches = plan.filter((s) => s.id === raw || s.track === raw || (raw === 'pretrain' && (s.kind === 'lm' || s.kind === 'vision')) || (raw === TEACHER_SIDE && isTeacherSide(s)));
    if (!matches.length) {
      throw new Error(`--stages: unknown stage '${raw}'; expected 'all', a track (teacher, baseline, kd, pretrain, ${TEACHER_SIDE}) or one of: ${plan.map((s) => s.id).join(', ')}`);
    }
    matches.forEach((m) => wanted.add(m.id));
  }
  return plan.filter((s) => wanted.has(s.id));
}

/** Vision checkpoint every MLLM stage needs, or null when pre-training is off. */
export function visionCheckpoint(cfg: ExperimentConfig): string | null {
  return cfg.pipeline.pretrain ? 'vision-vision' : null;
}

/** Which parameter groups a stage kind trains. */
export function trainableModules(kind: StageKind): ('projector' | 'lm' | 'vision')[] {
  switch (kind) {
    case 'vision': return ['vision'];
    case 'lm': return ['lm'];
    case 'pt': case 'dpt': return ['projector'];
    case 'sft': case 'dft': return ['projector', 'lm'];
    default: throw new Error(`unknown stage kind '${String(kind)}'`);
  }
}

/** Whether a stage belongs to the teacher side (vision encoder + teacher), which the teacher store caches. */
export function isTeacherSide(stage: Pick<StagePlan, 'track'>): boolean {
  return stage.track === 'vision' || stage.track === 'teacher';
}

/** Hyper-parameters of a stage: the teacher track's own (teacher.stages) or the shared ones of its kind. */
export function stageConfig(cfg: ExperimentConfig, stage: Pick<StagePlan, 'track' | 'kind'>): StageConfig {
  if (stage.track === 'teacher' && (stage.kind === 'pt' || stage.kind === 'sft')) return cfg.teacher.stages[stage.kind];
  return cfg.stages[stage.kind];
}

/** Seed of a stage's initialisation and data order: teacher.seed on the teacher side, else the experiment seed. */
export function stageSeed(cfg: ExperimentConfig, stage: Pick<StagePlan, 'track'>): number {
  return isTeacherSide(stage) ? cfg.teacher.seed : cfg.seed;
}

/** Total optimizer steps of some stages. */
export function totalSteps(cfg: ExperimentConfig, stages: Pick<StagePlan, 'track' | 'kind'>[]): number {
  return stages.reduce((s, st) => s + stageConfig(cfg, st).steps, 0);
}
