/**
 * Argument lists and environment for the trainer CLI (`dist/cli.js`, see docs/cli.md) as the
 * extension spawns it. Pure (no vscode), unit-tested in test/host-cliArgs.test.ts.
 */
import type { BackendName, ExperimentConfig } from '../../trainer/config/types';
import { fullPlan, TEACHER_SIDE, type StagePlan } from '../../common/stagePlan';
import type { SweepEngine } from '../../common/sweepFormat';

/** Stage sets of the training commands. */
export const STAGE_SETS = {
  /** The teacher side (vision pre-training + the teacher track, whichever stages the experiment's plan has). */
  teacher: [TEACHER_SIDE],
  dpt: ['kd/dpt'],
  sft: ['kd/sft'],
  dft: ['kd/dft'],
  /** DPT when no teacher exists yet: train the teacher (and the student LM) first, in the same run. */
  teacherThenDpt: [TEACHER_SIDE, 'student/lm', 'kd/dpt'],
} as const;

/**
 * Stage ids of an experiment's own plan, in pipeline order (the Run Stage picker), from its
 * resolved config; undefined when the config does not resolve.
 */
export function planStageIds(resolvedConfig: unknown): string[] | undefined {
  return experimentPlan(resolvedConfig)?.map((s) => s.id);
}

/** The stage plan of an experiment from its resolved config; undefined when the config does not resolve. */
export function experimentPlan(resolvedConfig: unknown): StagePlan[] | undefined {
  try {
    return fullPlan(resolvedConfig as ExperimentConfig);
  } catch {
    return undefined;
  }
}

export type TrainerAction =
  | { kind: 'run'; experimentFile: string; stages?: readonly string[]; from?: string; backend?: BackendName }
  /** `stages`/`plan`: the run's stages (status.json) and its experiment's plan, for the title. */
  | { kind: 'resume'; runDir: string; stages?: readonly string[]; plan?: readonly string[] }
  | { kind: 'init'; dir: string; preset?: string; name?: string }
  | { kind: 'validate'; experimentFile: string }
  /** Every point of the experiment file's `sweep` section (creates or resumes its sweep folder). */
  | { kind: 'sweep'; experimentFile: string; engine: SweepEngine; parallel?: number }
  /** Cancels a sweep run by another process (its follower, or its Slurm jobs). */
  | { kind: 'sweep-cancel'; sweepDir: string };

/**
 * CLI arguments (after the script path) of an action. `--backend` is passed only when it is not
 * `auto` (then the experiment's own `backend` field decides). Training, sweeps and validation get `--json`.
 */
export function buildCliArgs(a: TrainerAction): string[] {
  switch (a.kind) {
    case 'run': {
      const args = ['run', a.experimentFile];
      if (a.stages && a.stages.length) args.push('--stages', a.stages.join(','));
      if (a.from) args.push('--from', a.from);
      if (a.backend && a.backend !== 'auto') args.push('--backend', a.backend);
      args.push('--json');
      return args;
    }
    case 'resume':
      return ['resume', a.runDir, '--json'];
    case 'init': {
      const args = ['init', a.dir];
      if (a.preset) args.push('--preset', a.preset);
      if (a.name) args.push('--name', a.name);
      return args;
    }
    case 'validate':
      return ['validate', a.experimentFile, '--json'];
    case 'sweep': {
      const args = ['sweep', a.experimentFile, '--engine', a.engine];
      if (a.parallel !== undefined) args.push('--parallel', String(a.parallel));
      args.push('--json');
      return args;
    }
    case 'sweep-cancel':
      return ['sweep-cancel', a.sweepDir, '--json'];
  }
}

/**
 * Environment of the trainer child: the parent's, plus ELECTRON_RUN_AS_NODE=1 (VS Code's
 * executable runs as plain node) and LLAVA_KD_NATIVE_PATH when a native-module folder is set.
 */
export function trainerEnv(base: NodeJS.ProcessEnv, nativePath: string | undefined, cacheDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ELECTRON_RUN_AS_NODE: '1' };
  if (nativePath) env.LLAVA_KD_NATIVE_PATH = nativePath;
  else delete env.LLAVA_KD_NATIVE_PATH;
  // The trainer's caches (teacher outputs) go to the extension's storage unless the user chose a folder.
  if (cacheDir && !base.LLAVA_KD_CACHE_DIR) env.LLAVA_KD_CACHE_DIR = cacheDir;
  return env;
}

/** Human title of a run action, for notifications and the progress title. */
export function actionTitle(a: TrainerAction): string {
  switch (a.kind) {
    case 'run': {
      const s = a.stages?.join(',') ?? 'all';
      if (s === 'all') return 'Full pipeline';
      if (s === STAGE_SETS.dft.join(',')) return 'Distilled fine-tuning (kd/dft)';
      if (s === STAGE_SETS.dpt.join(',')) return 'Distilled pre-training (kd/dpt)';
      if (s === STAGE_SETS.sft.join(',')) return 'Supervised fine-tuning (kd/sft)';
      if (s === STAGE_SETS.teacher.join(',')) return 'Teacher training';
      return `Stages ${s}`;
    }
    case 'resume': {
      if (!a.stages?.length) return 'Resume';
      const full = !!a.plan && a.plan.length === a.stages.length && a.plan.every((s, i) => s === a.stages![i]);
      return `${full ? 'Full pipeline' : actionTitle({ kind: 'run', experimentFile: '', stages: a.stages })}, resumed`;
    }
    case 'init':
      return 'New experiment';
    case 'validate':
      return 'Validate';
    case 'sweep':
      return `Sweep (${a.engine})`;
    case 'sweep-cancel':
      return 'Cancel sweep';
  }
}
