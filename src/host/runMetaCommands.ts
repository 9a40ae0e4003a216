/**
 * The run commands of the Experiments tree's context menu that change what the user keeps about a
 * run: Rename Run…, Edit Run Tags…, Edit Run Note… (input boxes writing run-meta.json) and
 * Delete Run… (a modal naming what the folder holds, then the trash; where there is none, a
 * second, explicit question before a permanent delete). A running run is never deleted.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { MAX_NAME_LENGTH, MAX_NOTE_LENGTH, RUN_META_FILE, parseTagInput, type RunMeta } from '../common/runMeta';
import { listCheckpoints } from '../common/runReader';
import { pickRuns } from './pickers';
import { deleteConfirmation, deleteRefusal, deleteWithTrashFallback, folderBytes, isRunFolder, permanentConfirmation, runTitle, type RunContents } from './core/runDelete';
import { writeRunMeta, type RunMetaPatch } from './core/runMetaWriter';
import type { RunStore } from './runStore';
import { readRunSummary } from './core/runSummaries';
import type { TrainerManager } from './trainerManager';

export interface RunMetaCommandDeps {
  store: RunStore;
  trainer: TrainerManager;
  /** Removes a run folder from every open panel (the views layer does it). */
  dropFromPanels: (source: string) => void;
  log: vscode.LogOutputChannel;
  /** Run folders named by a command's arguments (commands.ts argRunDirs). */
  runDirsOf: (a?: unknown, b?: unknown) => string[];
}

export class RunMetaCommands {
  constructor(private readonly d: RunMetaCommandDeps) {}

  /** The run folders of the arguments, else one picked from all runs. */
  private async runDirs(title: string, a?: unknown, b?: unknown): Promise<string[]> {
    await this.d.store.ready();
    const dirs = this.d.runDirsOf(a, b);
    if (dirs.length) return dirs;
    const picked = await pickRuns(this.d.store, { title, many: false });
    if (picked && !picked.length) void vscode.window.showInformationMessage('LLaVA-KD: this workspace has no runs yet.');
    return picked?.map((p) => p.run.dir) ?? [];
  }

  /** Asks for one field of one run's annotations and stores it; undefined from `ask` is Cancel. */
  private async edit(title: string, a: unknown, ask: (meta: RunMeta, runId: string) => Thenable<RunMetaPatch | undefined>): Promise<void> {
    const [dir] = await this.runDirs(title, a);
    if (!dir) return;
    const run = readRunSummary(dir);
    if (run.metaError) {
      await this.badMetaFile(dir, run.metaError);
      return;
    }
    const patch = await ask(run.meta ?? {}, run.runId);
    if (!patch) return;
    try {
      const meta = writeRunMeta(dir, patch);
      this.d.log.info(`${title}: ${dir}: ${JSON.stringify(meta)}`);
    } catch (e) {
      await this.badMetaFile(dir, (e as Error).message);
      return;
    }
    await this.d.store.refresh();
  }

  private async badMetaFile(dir: string, message: string): Promise<void> {
    const file = path.join(dir, RUN_META_FILE);
    const pick = await vscode.window.showErrorMessage(`LLaVA-KD: ${message}`, `Open ${RUN_META_FILE}`);
    if (pick) await vscode.window.showTextDocument(vscode.Uri.file(file));
  }

  rename(a?: unknown): Promise<void> {
    const title = 'LLaVA-KD: Rename Run';
    return this.edit(title, a, (meta, runId) => vscode.window.showInputBox({
      title,
      prompt: `Name shown for run ${runId} instead of its id (empty: show the id)`,
      value: meta.name ?? '',
      validateInput: (v) => (v.trim().length > MAX_NAME_LENGTH ? `At most ${MAX_NAME_LENGTH} characters` : undefined),
    }).then((v) => (v === undefined ? undefined : { name: v })));
  }

  editTags(a?: unknown): Promise<void> {
    const title = 'LLaVA-KD: Edit Run Tags';
    return this.edit(title, a, (meta, runId) => vscode.window.showInputBox({
      title,
      prompt: `Tags of run ${runId}, separated by commas (letters, digits and - _ . : /, up to 40 each; empty: no tags)`,
      value: (meta.tags ?? []).join(', '),
      validateInput: (v) => {
        const r = parseTagInput(v);
        return r.ok ? undefined : r.error;
      },
    }).then((v) => {
      if (v === undefined) return undefined;
      const r = parseTagInput(v);
      return r.ok ? { tags: r.value } : undefined;
    }));
  }

  editNote(a?: unknown): Promise<void> {
    const title = 'LLaVA-KD: Edit Run Note';
    return this.edit(title, a, (meta, runId) => vscode.window.showInputBox({
      title,
      prompt: `Note on run ${runId}, shown in its tooltip (empty: no note)`,
      value: meta.note ?? '',
      validateInput: (v) => (v.trim().length > MAX_NOTE_LENGTH ? `At most ${MAX_NOTE_LENGTH} characters` : undefined),
    }).then((v) => (v === undefined ? undefined : { note: v })));
  }

  /** What a run folder holds now (read fresh: the tree may be a moment old). */
  private contents(dir: string): RunContents {
    const run = readRunSummary(dir);
    return {
      runId: run.runId,
      name: run.meta?.name,
      dir,
      experimentName: this.d.store.experimentOfRun(dir).name,
      status: run.status,
      checkpoints: listCheckpoints(dir).length,
      bytes: folderBytes(dir),
    };
  }

  /** Runs that may go now; says why for the others. */
  private deletable(dirs: string[]): RunContents[] {
    const ok: RunContents[] = [];
    for (const dir of dirs) {
      if (!isRunFolder(dir)) {
        void vscode.window.showWarningMessage(`LLaVA-KD: ${dir} is not a run folder (runs/<id> holding status.json or config.json): not deleted.`);
        continue;
      }
      const c = this.contents(dir);
      const refusal = deleteRefusal(c, !!this.d.trainer.byRunDir(dir), this.d.trainer.queuedFor(dir));
      if (refusal) void vscode.window.showWarningMessage(`LLaVA-KD: ${refusal}`);
      else ok.push(c);
    }
    return ok;
  }

  async delete(a?: unknown, b?: unknown): Promise<void> {
    const dirs = await this.runDirs('LLaVA-KD: Delete Run', a, b);
    let runs = this.deletable(dirs);
    if (!runs.length) return;
    const ask = deleteConfirmation(runs);
    const yes = await vscode.window.showWarningMessage(ask.message, { modal: true, detail: ask.detail }, 'Delete');
    if (yes !== 'Delete') return;
    // A run may have been resumed from a terminal while the dialog was open.
    runs = this.deletable(runs.map((r) => r.dir));
    if (!runs.length) return;
    const left = [...runs];
    const gone: string[] = [];
    const outcome = await deleteWithTrashFallback(async (useTrash) => {
      while (left.length) {
        await vscode.workspace.fs.delete(vscode.Uri.file(left[0].dir), { recursive: true, useTrash });
        gone.push(left.shift()!.dir);
      }
    }, async (reason) => {
      this.d.log.warn(`Delete Run: moving to the trash failed (${reason}); asking before deleting permanently`);
      const again = permanentConfirmation(left, reason);
      return (await vscode.window.showWarningMessage(again.message, { modal: true, detail: again.detail }, 'Delete Permanently')) === 'Delete Permanently';
    }).finally(() => this.afterDelete(gone));
    const names = runs.filter((r) => gone.includes(r.dir)).map(runTitle).join(', ');
    if (outcome.done === 'trash') void vscode.window.showInformationMessage(`LLaVA-KD: moved run ${names} to the trash.`);
    else if (outcome.done === 'permanent') void vscode.window.showInformationMessage(`LLaVA-KD: deleted run ${names} permanently.`);
    else if (gone.length) void vscode.window.showInformationMessage(`LLaVA-KD: moved run ${names} to the trash; kept ${left.map(runTitle).join(', ')}.`);
  }

  /** Logs what went, drops it from the open panels and refreshes the tree. */
  private async afterDelete(gone: string[]): Promise<void> {
    for (const dir of gone) {
      this.d.log.info(`Deleted run folder ${dir}`);
      this.d.dropFromPanels(dir);
    }
    if (gone.length) await this.d.store.refresh();
  }
}
