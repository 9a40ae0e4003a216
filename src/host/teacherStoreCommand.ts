/**
 * "LLaVA-KD: Manage Stored Teachers": lists the teacher store through the trainer CLI
 * (`teacher list --json`, the same store the extension's runs use: its global storage unless
 * $LLAVA_KD_CACHE_DIR is set) and offers, per entry, its manifest, its folder and removal, and
 * training the teacher of an experiment. The host runs the CLI; it never reads tensors.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { trainerEnv } from './core/cliArgs';
import { parseStoreListing, teacherPickRows, type StoreEntryRow } from './core/teacherStoreModel';

export interface TeacherStoreDeps {
  extensionPath: string;
  globalStoragePath: string;
  log: vscode.LogOutputChannel;
  /** Starts the teacher side of an experiment (picked by the caller). */
  trainTeacher: () => Promise<void>;
}

function cli(d: TeacherStoreDeps, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = path.join(d.extensionPath, 'dist', 'cli.js');
  const env = trainerEnv(process.env, undefined, path.join(d.globalStoragePath, 'cache'));
  d.log.info(`teacher store: ${process.execPath} ${[script, ...args].join(' ')}`);
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function manageTeachers(d: TeacherStoreDeps): Promise<void> {
  const res = await cli(d, ['teacher', 'list', '--json']);
  if (res.code !== 0) {
    d.log.error(res.stderr);
    void vscode.window.showErrorMessage(`LLaVA-KD: listing the teacher store failed: ${res.stderr.trim().split('\n').pop() ?? `exit code ${res.code}`}`);
    return;
  }
  const listing = parseStoreListing(res.stdout);
  type Item = vscode.QuickPickItem & { entry?: StoreEntryRow; action?: 'train' | 'open' };
  const items: Item[] = [
    ...teacherPickRows(listing).map((r) => ({ label: r.label, description: r.description, detail: r.detail, entry: r.entry })),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(play) Train the teacher of an experiment…', description: 'runs its vision and teacher stages and stores them', action: 'train' },
    { label: '$(folder-opened) Open the store folder', description: listing.root, action: 'open' },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: 'LLaVA-KD: Stored Teachers',
    placeHolder: listing.entries.length ? 'Runs whose teacher has the same key reuse it instead of training it again' : 'No stored teacher yet: runs store the teacher they train',
    matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true,
  });
  if (!pick) return;
  if (pick.action === 'train') return d.trainTeacher();
  if (pick.action === 'open') {
    await vscode.env.openExternal(vscode.Uri.file(listing.root));
    return;
  }
  const e = pick.entry!;
  const actions: (vscode.QuickPickItem & { id: string })[] = [
    ...(e.manifest ? [{ id: 'manifest', label: '$(json) Open manifest.json', description: 'recipe, data fingerprint, checkpoint hashes, evals' }] : []),
    { id: 'reveal', label: '$(folder-opened) Reveal the entry folder', description: e.dir },
    ...(e.source === 'cache' && e.state !== 'training' ? [{ id: 'rm', label: '$(trash) Remove', description: 'the next run that needs it trains it again' }] : []),
  ];
  const act = await vscode.window.showQuickPick(actions, { title: `LLaVA-KD: teacher ${e.key}`, ignoreFocusOut: true });
  if (!act) return;
  if (act.id === 'manifest') await vscode.window.showTextDocument(vscode.Uri.file(path.join(e.dir, 'manifest.json')));
  else if (act.id === 'reveal') await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path.join(e.dir, 'manifest.json')));
  else if (act.id === 'rm') {
    const ok = await vscode.window.showWarningMessage(`Remove the stored teacher ${e.key}${e.manifest ? ` (${e.manifest.name})` : ''}? Runs that used it keep their copies.`, { modal: true }, 'Remove');
    if (ok !== 'Remove') return;
    const r = await cli(d, ['teacher', 'rm', e.key]);
    if (r.code === 0) void vscode.window.showInformationMessage(`LLaVA-KD: removed the stored teacher ${e.key}.`);
    else void vscode.window.showErrorMessage(`LLaVA-KD: removing ${e.key} failed: ${r.stderr.trim().split('\n').pop() ?? `exit code ${r.code}`}`);
  }
}
