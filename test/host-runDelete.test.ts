// Delete Run's pure parts (src/host/core/runDelete.ts): the refusal of a running or queued run, the
// confirmation naming stages done, checkpoints and size, the size of a real folder, only run
// folders accepted, and the trash first with a permanent delete only after a second yes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunStatus } from '../src/common/runFormat';
import { deleteConfirmation, deleteRefusal, deleteWithTrashFallback, folderBytes, isRunFolder, permanentConfirmation, type RunContents } from '../src/host/core/runDelete';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-del-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const status = (over: Partial<RunStatus>): RunStatus => ({
  runId: 'r1', experiment: '/w/e/kd-experiment.json', state: 'completed', stages: ['kd/sft', 'kd/dft'], completedStages: ['kd/sft', 'kd/dft'], stage: 'kd/dft', step: 10, totalSteps: 10,
  globalStep: 20, globalTotalSteps: 20, pid: 1, backend: 'wasm', startedAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:01:00Z', ...over,
});
const contents = (over: Partial<RunContents> = {}): RunContents => ({
  runId: '20250101-000000-abcd', dir: '/w/e/runs/20250101-000000-abcd', experimentName: 'exp-a', status: status({}), checkpoints: 3, bytes: 3 * 1024 * 1024, ...over,
});

test('deleteRefusal: a training or running run and one a queued training needs are refused, by name', () => {
  assert.equal(deleteRefusal(contents(), false, false), undefined);
  assert.match(deleteRefusal(contents(), true, false) ?? '', /^20250101-000000-abcd is training: stop it first/);
  assert.match(deleteRefusal(contents({ name: 'mine', status: status({ state: 'running' }) }), false, false) ?? '', /^"mine" \(20250101-000000-abcd\) is training/);
  assert.match(deleteRefusal(contents(), false, true) ?? '', /needed by a queued training/);
  assert.equal(deleteRefusal(contents({ status: status({ state: 'failed' }) }), false, false), undefined, 'a failed run may go');
});

test('deleteConfirmation names the run, its stages done, checkpoints, size and folder', () => {
  const one = deleteConfirmation([contents({ name: 'gamma 0.25', status: status({ state: 'stopped', completedStages: ['kd/sft'] }) })]);
  assert.equal(one.message, 'Delete run "gamma 0.25" (20250101-000000-abcd)?');
  assert.match(one.detail, /of exp-a: stopped · 1 of 2 stages done \(kd\/sft\)/);
  assert.match(one.detail, /3 checkpoints, 3\.0 MB on disk/);
  assert.match(one.detail, /\/w\/e\/runs\/20250101-000000-abcd/);
  assert.match(one.detail, /moved to the trash/);
  const two = deleteConfirmation([contents(), contents({ runId: 'b', dir: '/w/e/runs/b', checkpoints: 1, bytes: 1024 * 1024, status: undefined })]);
  assert.equal(two.message, 'Delete 2 runs (4.0 MB)?');
  assert.match(two.detail, /b of exp-a: status unreadable\n1 checkpoint, 1\.0 MB on disk/);
  const again = permanentConfirmation([contents()], 'provider does not support trash');
  assert.equal(again.message, 'Delete run 20250101-000000-abcd permanently?');
  assert.match(again.detail, /trash is not available here \(provider does not support trash\).*cannot be undone: 3 checkpoints and 3\.0 MB/);
});

test('folderBytes sums the files below a folder; isRunFolder accepts only runs/<id> with status.json or config.json', () => {
  const run = path.join(root, 'exp', 'runs', 'r1');
  fs.mkdirSync(path.join(run, 'checkpoints'), { recursive: true });
  fs.writeFileSync(path.join(run, 'status.json'), 'x'.repeat(100));
  fs.writeFileSync(path.join(run, 'checkpoints', 'kd-sft.safetensors'), Buffer.alloc(5000));
  fs.symlinkSync('/etc', path.join(run, 'link'));
  assert.equal(folderBytes(run), 5100, 'files counted, the link not followed');
  assert.equal(folderBytes(path.join(root, 'missing')), 0);
  assert.equal(isRunFolder(run), true);
  assert.equal(isRunFolder(path.join(root, 'exp')), false, 'an experiment folder is not a run');
  const other = path.join(root, 'exp', 'runs', 'empty');
  fs.mkdirSync(other);
  assert.equal(isRunFolder(other), false, 'a folder without status.json or config.json');
  const notRuns = path.join(root, 'exp', 'data');
  fs.mkdirSync(notRuns);
  fs.writeFileSync(path.join(notRuns, 'config.json'), '{}');
  assert.equal(isRunFolder(notRuns), false, 'not under runs/');
  assert.equal(isRunFolder('runs/r1'), false, 'relative paths refused');
});

test('deleteWithTrashFallback: trash first; on failure asks, and deletes permanently only on a second yes', async () => {
  const calls: string[] = [];
  const remove = (trashWorks: boolean) => async (useTrash: boolean) => {
    calls.push(useTrash ? 'trash' : 'permanent');
    if (useTrash && !trashWorks) throw new Error('no trash here');
  };
  assert.deepEqual(await deleteWithTrashFallback(remove(true), async () => assert.fail('not asked when the trash works')), { done: 'trash' });
  assert.deepEqual(calls.splice(0), ['trash']);
  const asked: string[] = [];
  assert.deepEqual(await deleteWithTrashFallback(remove(false), async (r) => { asked.push(r); return false; }), { done: 'kept', reason: 'no trash here' });
  assert.deepEqual(calls.splice(0), ['trash'], 'a "no" deletes nothing');
  assert.deepEqual(asked, ['no trash here']);
  assert.deepEqual(await deleteWithTrashFallback(remove(false), async () => true), { done: 'permanent', reason: 'no trash here' });
  assert.deepEqual(calls.splice(0), ['trash', 'permanent']);
  await assert.rejects(deleteWithTrashFallback(async (t) => { if (t) throw new Error('no trash'); throw new Error('EACCES'); }, async () => true), /EACCES/);
});
