/**
 * The CodeLens row over a kd-experiment.json, as plain data: the run lenses when the file is
 * valid (with Run Sweep when it has a `sweep` section); over an invalid one a single lens with the problem count that opens Problems (a run
 * would only be refused). Pure (no vscode), unit-tested in test/host-configProblems.test.ts.
 */
import { problemsLensTitle } from './configProblems';

export interface LensSpec {
  title: string;
  command: string;
  tooltip: string;
  /** Pass the experiment file's Uri to the command. */
  withFile: boolean;
}

export const PROBLEMS_VIEW_COMMAND = 'workbench.actions.view.problems';

/** Lenses of an experiment file with `problemCount` problems; `hasSweep`: it has a `sweep` section. */
export function experimentLenses(problemCount: number, hasSweep = false): LensSpec[] {
  if (problemCount > 0) {
    return [{ title: problemsLensTitle(problemCount), command: PROBLEMS_VIEW_COMMAND, tooltip: 'This file does not validate: open the Problems view', withFile: false }];
  }
  return [
    { title: '$(play) Run Full Pipeline', command: 'llavaKd.runFullPipeline', tooltip: 'Train every stage of this experiment in a new run', withFile: true },
    ...(hasSweep ? [{ title: '$(run-all) Run Sweep', command: 'llavaKd.runSweep', tooltip: 'Run every point of the "sweep" section (a new sweep, or the unfinished points of the last one when the section is unchanged)', withFile: true }] : []),
    { title: 'Run Stage…', command: 'llavaKd.runStage', tooltip: 'Pick stages (and a run to take earlier checkpoints from)', withFile: true },
    { title: 'Start Distilled Fine-Tuning', command: 'llavaKd.startDistilledFineTuning', tooltip: 'kd/dft from a run with kd-sft and teacher-sft checkpoints', withFile: true },
    { title: 'Compare with Last Run', command: 'llavaKd.compareWithLastRun', tooltip: 'Config diff of this file against the newest run', withFile: true },
  ];
}
