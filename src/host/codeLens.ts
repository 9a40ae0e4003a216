/**
 * CodeLens at the top of kd-experiment.json: Run Full Pipeline, Run Stage…, Start Distilled
 * Fine-Tuning, Compare with Last Run.
 */
import * as vscode from 'vscode';

export class ExperimentCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const range = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, command: string, tooltip: string): vscode.CodeLens => new vscode.CodeLens(range, { title, command, tooltip, arguments: [doc.uri] });
    return [
      lens('$(play) Run Full Pipeline', 'llavaKd.runFullPipeline', 'Train every stage of this experiment in a new run'),
      lens('Run Stage…', 'llavaKd.runStage', 'Pick stages (and a run to take earlier checkpoints from)'),
      lens('Start Distilled Fine-Tuning', 'llavaKd.startDistilledFineTuning', 'kd/dft from a run with kd-sft and teacher-sft checkpoints'),
      lens('Compare with Last Run', 'llavaKd.compareWithLastRun', 'Config diff of this file against the newest run'),
    ];
  }
}
