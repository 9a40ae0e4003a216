/**
 * The "LLaVA-KD" log output channel, shared by all host modules (trainer stderr, webview errors,
 * rejected webview messages).
 */
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function getLog(): vscode.LogOutputChannel {
  if (!channel) channel = vscode.window.createOutputChannel('LLaVA-KD', { log: true });
  return channel;
}
