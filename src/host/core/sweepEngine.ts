/**
 * Which engine a new sweep runs on, from the `llavaKd.sweepEngine` setting ("local", "slurm" or
 * "ask") and whether `sbatch` is on the PATH of the extension host: use one, ask (offering Slurm
 * only where sbatch exists, else saying why not), or refuse a Slurm setting without sbatch.
 * Pure but for the PATH lookup's injected file check; unit-tested in test/host-sweepEngine.test.ts.
 */
import * as path from 'node:path';
import type { SweepEngine } from '../../common/sweepFormat';

export type SweepEngineSetting = SweepEngine | 'ask';

/** The first `name` (with a Windows extension where PATHEXT lists them) in the folders of `pathVar`. */
export function findOnPath(name: string, pathVar: string | undefined, isExecutable: (file: string) => boolean, platform: NodeJS.Platform = process.platform, pathExt?: string): string | undefined {
  const sep = platform === 'win32' ? ';' : ':';
  const exts = platform === 'win32' ? ['', ...(pathExt ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean)] : [''];
  for (const dir of (pathVar ?? '').split(sep).filter(Boolean)) {
    for (const ext of exts) {
      const file = (platform === 'win32' ? path.win32 : path.posix).join(dir, name + ext);
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

export interface EngineChoice {
  engine: SweepEngine;
  label: string;
  detail: string;
}

export type EngineDecision =
  | { kind: 'use'; engine: SweepEngine }
  | { kind: 'ask'; choices: EngineChoice[]; placeHolder: string }
  | { kind: 'refuse'; message: string };

/** Why Slurm is not offered without sbatch (and the way to a cluster). */
export const NO_SBATCH = 'sbatch is not on the PATH of the extension host; on a cluster, open the folder with Remote-SSH on a login node';

/** What to do for `setting`, `sbatch` being its path on PATH (undefined: not found). */
export function decideEngine(setting: SweepEngineSetting | undefined, sbatch: string | undefined): EngineDecision {
  if (setting === 'local') return { kind: 'use', engine: 'local' };
  if (setting === 'slurm') {
    return sbatch ? { kind: 'use', engine: 'slurm' } : { kind: 'refuse', message: `llavaKd.sweepEngine is "slurm", but ${NO_SBATCH}.` };
  }
  const choices: EngineChoice[] = [{ engine: 'local', label: '$(device-desktop) local', detail: 'Child processes on this machine, a few points at a time (the sweep\'s "parallel", else the cores over each run\'s threads)' }];
  if (sbatch) choices.push({ engine: 'slurm', label: '$(server) slurm', detail: `A Slurm job array submitted with ${sbatch}, followed with squeue/scontrol` });
  return { kind: 'ask', choices, placeHolder: sbatch ? 'Where the sweep\'s points run' : `Where the sweep's points run (Slurm not offered: ${NO_SBATCH})` };
}
