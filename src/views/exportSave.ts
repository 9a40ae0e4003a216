/**
 * Saves what a dashboard exports (a chart as PNG or SVG, a table or series as CSV): asks where,
 * with the file name the webview proposed in the first workspace folder, writes it, and offers to
 * open it. Nothing is written without the user's choice of a path.
 */
import * as vscode from 'vscode';
import type { ExportFormat } from '../common/messages';

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV table': ['csv'] },
};

/** The bytes of an export: a PNG from its base64 data URL, SVG and CSV as UTF-8 text. */
export function exportBytes(format: ExportFormat, data: string): Uint8Array {
  if (format === 'png') return Buffer.from(data.slice(data.indexOf(',') + 1), 'base64');
  return Buffer.from(data, 'utf8');
}

export async function saveExport(format: ExportFormat, name: string, data: string, log: vscode.LogOutputChannel): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({ title: `Export ${name}`, saveLabel: 'Export', filters: FILTERS[format], ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}) });
  if (!uri) return;
  await vscode.workspace.fs.writeFile(uri, exportBytes(format, data));
  log.info(`Exported ${format.toUpperCase()} to ${uri.fsPath}`);
  const pick = await vscode.window.showInformationMessage(`LLaVA-KD: exported ${vscode.workspace.asRelativePath(uri)}.`, 'Open');
  if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', uri);
}
