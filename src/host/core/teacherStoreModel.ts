/**
 * The teacher store as the extension shows it: parses `llava-kd teacher list --json` and builds
 * the rows of the "Manage Stored Teachers" picker. Pure (no vscode), unit-tested in
 * test/host-teacherStore.test.ts.
 */
import { formatAccuracy, formatBytes } from '../../common/format';

export interface StoreListing {
  root: string;
  packaged: string[];
  entries: StoreEntryRow[];
}

export interface StoreEntryRow {
  key: string;
  dir: string;
  source: 'cache' | 'package';
  state: 'ok' | 'corrupt' | 'partial' | 'training';
  bytes: number;
  pid?: number;
  problem?: string;
  teacherAccuracy?: number;
  manifest?: { name: string; createdAt: string; trainedWith: { seconds: number; backend: string; workers: number }; recipe: { teacher?: { lm?: { dim: number; layers: number } } } };
}

/** Parses the CLI's JSON listing; throws with the text's start when it is not one. */
export function parseStoreListing(stdout: string): StoreListing {
  let v: unknown;
  try {
    v = JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    throw new Error(`llava-kd teacher list --json printed no JSON: ${stdout.slice(0, 200)}`);
  }
  const o = v as Partial<StoreListing>;
  if (!o || typeof o.root !== 'string' || !Array.isArray(o.entries)) throw new Error('llava-kd teacher list --json: unexpected shape');
  return { root: o.root, packaged: Array.isArray(o.packaged) ? o.packaged : [], entries: o.entries };
}

export interface TeacherPickRow {
  label: string;
  description: string;
  detail: string;
  entry: StoreEntryRow;
}

/** One picker row per entry: key and name, where it lives and how good it is, its state. */
export function teacherPickRows(listing: StoreListing): TeacherPickRow[] {
  return listing.entries.map((e) => {
    const m = e.manifest;
    const lm = m?.recipe.teacher?.lm;
    const parts = [
      e.source === 'package' ? 'shipped with the extension (read-only)' : 'cache',
      e.teacherAccuracy !== undefined ? `test ${formatAccuracy(e.teacherAccuracy)}` : '',
      lm ? `LM ${lm.dim}×${lm.layers}` : '',
      formatBytes(e.bytes),
    ].filter(Boolean);
    const state = e.state === 'ok' && m
      ? `trained ${m.createdAt.slice(0, 16).replace('T', ' ')} in ${Math.max(1, Math.round(m.trainedWith.seconds / 60))} min (${m.trainedWith.backend}, ${m.trainedWith.workers} thread${m.trainedWith.workers === 1 ? '' : 's'}) · ${e.dir}`
      : e.state === 'training' ? `being trained by process ${e.pid}`
        : e.state === 'partial' ? `being written by process ${e.pid}`
          : `corrupt: ${e.problem ?? 'fails its checks'} (removed and trained again on next use)`;
    const icon = e.state === 'ok' ? '$(mortar-board)' : e.state === 'corrupt' ? '$(warning)' : '$(sync~spin)';
    return { label: `${icon} ${e.key.slice(0, 12)}${m ? `  ${m.name}` : ''}`, description: parts.join(' · '), detail: state, entry: e };
  });
}
