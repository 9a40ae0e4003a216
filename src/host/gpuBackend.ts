/**
 * "Install GPU Backend": installs @tensorflow/tfjs-node-gpu (or tfjs-node) 4.22.0 with npm into
 * `<globalStorage>/native` as a VS Code task in the terminal, then offers to switch the
 * `llavaKd.backend` setting. The trainer finds the package through LLAVA_KD_NATIVE_PATH.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireTrust } from './trainerManager';

const PACKAGES = [
  { label: 'tensorflow-gpu', pkg: '@tensorflow/tfjs-node-gpu@4.22.0', detail: 'Native TensorFlow with CUDA (Linux x64; needs CUDA 11.2 + cuDNN 8.1 drivers).' },
  { label: 'tensorflow', pkg: '@tensorflow/tfjs-node@4.22.0', detail: 'Native TensorFlow on the CPU (Linux, macOS, Windows x64). Faster than wasm for larger models.' },
] as const;

export async function installGpuBackend(globalStorage: vscode.Uri, log: vscode.LogOutputChannel): Promise<void> {
  if (!(await requireTrust('Installing the GPU backend'))) return;
  const pick = await vscode.window.showQuickPick(PACKAGES.map((p) => ({ ...p, description: p.pkg })), {
    title: 'LLaVA-KD: Install GPU Backend',
    placeHolder: 'Which native TensorFlow.js build to install',
  });
  if (!pick) return;
  const dir = path.join(globalStorage.fsPath, 'native');
  fs.mkdirSync(dir, { recursive: true });
  const pj = path.join(dir, 'package.json');
  if (!fs.existsSync(pj)) fs.writeFileSync(pj, JSON.stringify({ name: 'llava-kd-native', private: true, description: 'Native TensorFlow.js for LLaVA-KD Studio' }, null, 2) + '\n');
  const args = ['install', '--no-audit', '--no-fund', '--save-exact', pick.pkg];
  log.info(`Installing ${pick.pkg} into ${dir}: npm ${args.join(' ')}`);
  const scope = vscode.workspace.workspaceFolders?.[0] ?? vscode.TaskScope.Workspace;
  const task = new vscode.Task({ type: 'llava-kd-install', pkg: pick.pkg }, scope, `Install ${pick.pkg}`, 'LLaVA-KD', new vscode.ShellExecution('npm', args, { cwd: dir }));
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  const execution = await vscode.tasks.executeTask(task);
  const sub = vscode.tasks.onDidEndTaskProcess(async (e) => {
    if (e.execution !== execution) return;
    sub.dispose();
    if (e.exitCode === 0) {
      log.info(`${pick.pkg} installed in ${dir}`);
      const use = `Use ${pick.label}`;
      const choice = await vscode.window.showInformationMessage(`LLaVA-KD: ${pick.pkg} installed. New runs get LLAVA_KD_NATIVE_PATH=${dir}.`, use);
      if (choice === use) await vscode.workspace.getConfiguration('llavaKd').update('backend', pick.label, vscode.ConfigurationTarget.Global);
    } else {
      log.error(`npm install ${pick.pkg} failed with exit code ${e.exitCode}`);
      const choice = await vscode.window.showErrorMessage(`LLaVA-KD: installing ${pick.pkg} failed (exit code ${e.exitCode ?? '?'}). Training keeps using the wasm backend.`, 'Show Log');
      if (choice) log.show(true);
    }
  });
}
