/**
 * mayOpen (src/host/core/pathGuard.ts): what a webview may ask the host to open. The cases of the
 * bad-input campaign: `..` escapes and sibling folders with the same prefix are refused, links
 * out of a run folder are refused, the images the panel showed are allowed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInsideFolder, isRestorableSource, mayOpen } from '../src/host/core/pathGuard';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-guard-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('mayOpen: inside a run folder or a shown image only', () => {
  const exp = path.join(root, 'ws', 'exp');
  const run = path.join(exp, 'runs', 'r1');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'log.txt'), 'x');
  fs.mkdirSync(path.join(root, 'ws', 'exp-other'), { recursive: true });
  fs.writeFileSync(path.join(root, 'ws', 'exp-other', 'x'), 'x');
  const image = path.join(exp, 'world', 'images', 'val', 'a.png');
  fs.mkdirSync(path.dirname(image), { recursive: true });
  fs.writeFileSync(image, 'png');
  const shown = new Set([fs.realpathSync(image)]);
  assert.equal(mayOpen(path.join(run, 'log.txt'), [run], shown), true);
  assert.equal(mayOpen(image, [run], shown), true, 'a shown image');
  assert.equal(mayOpen(path.join(exp, 'world', 'images', 'val', 'b.png'), [run], shown), false, 'an image it did not show');
  assert.equal(mayOpen(`${run}/../../../../etc/passwd`, [run], shown), false, '.. out of the run');
  assert.equal(mayOpen(`${exp}/../../etc/passwd`, [path.join(exp, 'runs', 'r1')], shown), false);
  assert.equal(mayOpen(path.join(root, 'ws', 'exp-other', 'x'), [exp], shown), false, 'a sibling with the same prefix');
  assert.equal(mayOpen('relative/path', [run], shown), false);
  assert.equal(mayOpen(`${run}/x\0y`, [run], shown), false);
  // A link inside the run folder pointing out of it.
  fs.symlinkSync(path.join(root, 'ws', 'exp-other', 'x'), path.join(run, 'link'));
  assert.equal(mayOpen(path.join(run, 'link'), [run], shown), false, 'a link out of the run');
  assert.equal(isInsideFolder(run, run), true);
});

test('isRestorableSource: experiments and runs of the workspace only (a restored ~/.ssh/a/b is refused)', () => {
  const ws = path.join(root, 'restore-ws');
  const exp = path.join(ws, 'exp');
  const run = path.join(exp, 'runs', 'r1');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(exp, 'kd-experiment.json'), '{}');
  fs.writeFileSync(path.join(run, 'status.json'), '{}');
  assert.equal(isRestorableSource(path.join(exp, 'kd-experiment.json'), [ws]), true);
  assert.equal(isRestorableSource(run, [ws]), true);
  assert.equal(isRestorableSource(path.join(os.homedir(), '.ssh', 'a', 'b'), [ws]), false, 'outside the workspace');
  assert.equal(isRestorableSource(path.join(exp, 'runs'), [ws]), false, 'a folder that is not a run');
  assert.equal(isRestorableSource(`${run}/../../../..`, [ws]), false);
  assert.equal(isRestorableSource(42, [ws]), false);
  assert.equal(isRestorableSource(run, []), false, 'no workspace: nothing restored');
});
