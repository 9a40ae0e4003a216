/**
 * The whole Experiments tree: experiments sorted by label, each with its sweeps (newest first,
 * sweepTreeModel.ts) and then its other runs (newest first, treeModel.ts runNode); the runs of
 * sweep points show only under their sweep. An info row where an experiment has neither.
 * Pure (no vscode), unit-tested in test/host-treeModel.test.ts and test/host-sweepTree.test.ts.
 */
import * as path from 'node:path';
import { compareRunsNewestFirst, type ExperimentSummary } from './runModel';
import { sweepSection } from './sweepTreeModel';
import { mdEscape, runNode, type TreeNodeModel } from './treeModel';

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The tree of `experiments`; `nowMs` is the time elapsed times of running sweep points are measured to. */
export function buildTree(experiments: ExperimentSummary[], nowMs: number = Date.now()): TreeNodeModel[] {
  return [...experiments]
    .sort((a, b) => a.label.localeCompare(b.label))
    .map((exp) => {
      const sweeps = sweepSection(exp, nowMs);
      const runs = [...exp.runs].sort(compareRunsNewestFirst);
      const running = runs.filter((r) => r.status?.state === 'running').length;
      const children = [...sweeps.nodes, ...runs.filter((r) => !sweeps.runIds.has(r.runId)).map((r) => runNode(exp, r))];
      if (!children.length) {
        children.push({
          kind: 'info' as const,
          id: `info:${exp.file}`,
          label: 'No runs yet — Run Full Pipeline',
          icon: { id: 'play' },
          contextValue: 'info',
          collapsible: 'none' as const,
          children: [],
          experimentFile: exp.file,
          experimentDir: exp.dir,
          command: { id: 'llavaKd.runFullPipeline', title: 'Run Full Pipeline' },
        });
      }
      return {
        kind: 'experiment' as const,
        id: `exp:${exp.file}`,
        label: exp.label,
        description: [exp.name !== path.basename(exp.dir) ? exp.name : '', plural(runs.length, 'run'), sweeps.nodes.length ? plural(sweeps.nodes.length, 'sweep') : '', running ? `${running} running` : '']
          .filter(Boolean)
          .join(' · '),
        tooltip: `**${mdEscape(exp.name)}**\n\n${mdEscape(exp.file)}`,
        icon: { id: 'beaker' },
        contextValue: 'experiment',
        collapsible: 'expanded' as const,
        children,
        experimentFile: exp.file,
        experimentDir: exp.dir,
      };
    });
}
