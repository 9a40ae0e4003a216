/**
 * Which file paths a webview may ask the host to open: normalised and with links resolved, a
 * path must lie inside one of the panel's run folders or be exactly one of the files the host
 * itself showed in it. Pure path logic over node:fs/node:path (no vscode), unit-tested.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The real path (links resolved) of `p`, or its normalised absolute form when it does not exist. */
function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** True when `p` is `folder` or lies below it (after normalising both and resolving links). */
export function isInsideFolder(p: string, folder: string): boolean {
  const rel = path.relative(real(folder), real(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * @param p the path the webview sent
 * @param folders folders it may open anything inside of (the panel's run folders)
 * @param shown exact files the host put into the webview (e.g. sample images of those runs)
 */
export function mayOpen(p: string, folders: readonly string[], shown: ReadonlySet<string>): boolean {
  if (typeof p !== 'string' || !path.isAbsolute(p) || p.includes('\0')) return false;
  if (shown.has(real(p))) return true;
  return folders.some((f) => isInsideFolder(p, f));
}

/**
 * Whether a panel source restored from a webview's saved state may be used (it decides the
 * folders the webview may load files from): an existing `kd-experiment.json` or run folder
 * (holding status.json or config.json) inside one of the workspace folders.
 */
export function isRestorableSource(src: unknown, workspaceFolders: readonly string[]): src is string {
  if (typeof src !== 'string' || !path.isAbsolute(src) || src.includes('\0')) return false;
  if (!workspaceFolders.some((w) => isInsideFolder(src, w))) return false;
  if (path.basename(src) === 'kd-experiment.json') return fs.existsSync(src) && fs.statSync(src).isFile();
  return ['status.json', 'config.json'].some((f) => fs.existsSync(path.join(src, f)));
}
