// Tests of src/host/core/trainerProcess.ts with a fake CLI script: JSON events, stderr text, SIGTERM, SIGKILL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSplitter, TrainerProcess, exitOutcome, parseTrainerLine } from '../src/host/core/trainerProcess';
import type { TrainerEvent } from '../src/common/runFormat';

const dir = mkdtempSync(join(tmpdir(), 'kd-fake-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const fake = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

test('LineSplitter joins split chunks', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":'), []);
  assert.deepEqual(s.push('1}\r\nxy'), ['{"a":1}']);
  assert.deepEqual(s.push('z\n'), ['xyz']);
  assert.deepEqual(s.flush(), []);
  s.push('tail');
  assert.deepEqual(s.flush(), ['tail']);
});

test('parseTrainerLine', () => {
  assert.deepEqual(parseTrainerLine('{"event":"log","level":"info","message":"hi"}'), { event: { event: 'log', level: 'info', message: 'hi' } });
  assert.deepEqual(parseTrainerLine('{"foo":1}'), { text: '{"foo":1}' });
  assert.deepEqual(parseTrainerLine('plain'), { text: 'plain' });
  assert.equal(parseTrainerLine('  '), null);
});

test('events from stdout, text from stderr, exit code 0', async () => {
  const cli = fake('ok.js', `
    const w = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    console.error('human log ' + process.argv.slice(2).join(' ') + ' ' + process.env.ELECTRON_RUN_AS_NODE);
    w({ event: 'started', runDir: process.cwd(), runId: 'r1', backend: 'cpu', stages: ['kd/dft'], pid: process.pid });
    process.stdout.write('{"event":"step","stage":"kd/dft","step":1,');
    setTimeout(() => { process.stdout.write('"globalStep":1,"totalSteps":4}\\nnot json\\n'); w({ event: 'finished', state: 'completed', runDir: '.' }); }, 50);
  `);
  const p = new TrainerProcess({ execPath: process.execPath, cliPath: cli, args: ['run', 'x.json', '--json'], cwd: dir, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  const events: TrainerEvent[] = [];
  const texts: string[] = [];
  p.onEvent((e) => events.push(e));
  p.onText((t) => texts.push(`${t.stream}:${t.text}`));
  const exit = await p.exited;
  assert.equal(exit.code, 0);
  assert.equal(exitOutcome(exit), 'completed');
  assert.deepEqual(events.map((e) => e.event), ['started', 'step', 'finished']);
  assert.equal((events[1] as { totalSteps: number }).totalSteps, 4);
  assert.ok(texts.includes('stderr:human log run x.json --json 1'), texts.join('|'));
  assert.ok(texts.includes('stdout:not json'));
  assert.equal(p.running, false);
});

test('stop sends SIGTERM; the trainer exits 130 -> stopped', async () => {
  const cli = fake('term.js', `
    process.on('SIGTERM', () => { console.error('checkpointing'); process.exit(130); });
    console.log(JSON.stringify({ event: 'log', level: 'info', message: 'up' }));
    setInterval(() => {}, 1000);
  `);
  const p = new TrainerProcess({ execPath: process.execPath, cliPath: cli, args: [], cwd: dir, env: process.env, killTimeoutMs: 5000 });
  await new Promise<void>((r) => p.onEvent(() => r()));
  p.stop();
  const exit = await p.exited;
  assert.equal(exit.code, 130);
  assert.equal(exit.killed, false);
  assert.equal(exitOutcome(exit), 'stopped');
});

test('a trainer ignoring SIGTERM gets SIGKILL after the grace period', async () => {
  const cli = fake('stubborn.js', `
    process.on('SIGTERM', () => {});
    console.log(JSON.stringify({ event: 'log', level: 'info', message: 'up' }));
    setInterval(() => {}, 1000);
  `);
  const p = new TrainerProcess({ execPath: process.execPath, cliPath: cli, args: [], cwd: dir, env: process.env, killTimeoutMs: 300 });
  await new Promise<void>((r) => p.onEvent(() => r()));
  const t0 = Date.now();
  p.stop();
  const exit = await p.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(exit.killed, true);
  assert.ok(Date.now() - t0 >= 250);
  assert.equal(exitOutcome(exit), 'stopped');
});

test('exit codes 1 and 2', () => {
  assert.equal(exitOutcome({ code: 1, signal: null, stopRequested: false, killed: false }), 'failed');
  assert.equal(exitOutcome({ code: 2, signal: null, stopRequested: false, killed: false }), 'invalid');
  assert.equal(exitOutcome({ code: null, signal: 'SIGSEGV', stopRequested: false, killed: false }), 'failed');
});

test('a missing executable reports a start error', async () => {
  const p = new TrainerProcess({ execPath: join(dir, 'no-such-node'), cliPath: 'x.js', args: [], cwd: dir, env: process.env });
  const texts: string[] = [];
  p.onText((t) => texts.push(t.text));
  const exit = await p.exited;
  assert.equal(exit.code, null);
  assert.match(texts.join('\n'), /Could not start the trainer/);
});
