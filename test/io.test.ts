/**
 * Tests of durable run-folder I/O: atomic writes and appends, the safetensors reader/writer
 * (checked against an independent reader and hand-built bytes), run folders and the run reader.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { appendLine, removeStaleTemps, writeFileAtomic } from '../src/common/atomic';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, SafetensorsError } from '../src/trainer/io/safetensors';
import { createRunDir, RunWriter } from '../src/trainer/io/runDir';
import { effectiveState, isProcessAlive, JsonlTail, listRuns, readJsonl, readStatus, CRASHED_MESSAGE } from '../src/common/runReader';
import type { MetricsLine, RunStatus } from '../src/common/runFormat';

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-io-test-'));
  made.push(d);
  return d;
}

/** Build a safetensors file from raw parts: header object (JSON-stringified, space-padded to 8) + data bytes. */
function buildFile(header: unknown, data: number[] | Uint8Array, opts: { pad?: boolean } = {}): Uint8Array {
  let json = JSON.stringify(header);
  if (opts.pad !== false) while (json.length % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, hb.length, true);
  dv.setUint32(4, 0, true);
  out.set(hb, 8);
  out.set(data instanceof Uint8Array ? data : Uint8Array.from(data), 8 + hb.length);
  return out;
}

/** Independent minimal reader written from the format spec (u64 LE length, JSON, raw LE data). */
function specRead(bytes: Uint8Array): { header: Record<string, any>; values: Record<string, number[]> } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  assert.equal(hi, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + lo)));
  const base = 8 + lo;
  const values: Record<string, number[]> = {};
  for (const [name, e] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [b, end] = e.data_offsets;
    const vals: number[] = [];
    for (let p = base + b; p < base + end; p += 4) vals.push(e.dtype === 'F32' ? dv.getFloat32(p, true) : dv.getInt32(p, true));
    values[name] = vals;
  }
  return { header, values };
}

// ----------------------------------------------------------------------------------------------- safetensors

test('safetensors: F32 and I32 round trip with metadata', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.safetensors');
  const w = Float32Array.from([0.5, -1.25, 3.0e-8, 1e20, -0, Number.POSITIVE_INFINITY]);
  const ids = Int32Array.from([0, -1, 2147483647, -2147483648]);
  writeSafetensors(
    f,
    { 'proj.weight': { dtype: 'F32', shape: [2, 3], data: w }, 'tok.ids': { dtype: 'I32', shape: [4], data: ids }, empty: { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) } },
    { step: '12', stage: 'kd/dft' },
  );
  const r = readSafetensors(f);
  assert.deepEqual(r.metadata, { step: '12', stage: 'kd/dft' });
  assert.deepEqual(Object.keys(r.tensors).sort(), ['empty', 'proj.weight', 'tok.ids']);
  assert.equal(r.tensors['proj.weight'].dtype, 'F32');
  assert.deepEqual(r.tensors['proj.weight'].shape, [2, 3]);
  assert.ok(r.tensors['proj.weight'].data instanceof Float32Array);
  assert.deepEqual(Array.from(r.tensors['proj.weight'].data), Array.from(w));
  assert.ok(r.tensors['tok.ids'].data instanceof Int32Array);
  assert.deepEqual(Array.from(r.tensors['tok.ids'].data), [0, -1, 2147483647, -2147483648]);
  assert.deepEqual(r.tensors.empty.shape, [0, 5]);
  assert.equal(r.tensors.empty.data.length, 0);
  assert.deepEqual(fs.readdirSync(dir), ['a.safetensors']);
});

test('safetensors: file from the writer parses with an independent spec reader', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'b.safetensors');
  writeSafetensors(
    f,
    { z: { dtype: 'I32', shape: [3], data: Int32Array.from([7, -8, 9]) }, a: { dtype: 'F32', shape: [1, 2], data: Float32Array.from([1.5, -2.5]) } },
    { note: 'héllo' },
  );
  const bytes = new Uint8Array(fs.readFileSync(f));
  const { header, values } = specRead(bytes);
  // header length multiple of 8, data starts aligned
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  assert.equal(n % 8, 0);
  assert.deepEqual(header.__metadata__, { note: 'héllo' });
  assert.deepEqual(header.a, { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] });
  assert.deepEqual(header.z, { dtype: 'I32', shape: [3], data_offsets: [8, 20] });
  assert.deepEqual(values.a, [1.5, -2.5]);
  assert.deepEqual(values.z, [7, -8, 9]);
  assert.equal(bytes.length, 8 + n + 20);
});

test('safetensors: hand-built file byte by byte is read correctly', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'hand.safetensors');
  // F32 [2,2] = [1, 2, -0.5, 0.25] little-endian IEEE754:
  //   1 = 0x3F800000, 2 = 0x40000000, -0.5 = 0xBF000000, 0.25 = 0x3E800000
  const data = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x80, 0x3e];
  const header = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}';
  const hb = Array.from(new TextEncoder().encode(header));
  const len = hb.length; // 87: deliberately NOT padded to 8 (other writers may not pad)
  const bytes = [len & 0xff, (len >> 8) & 0xff, 0, 0, 0, 0, 0, 0, ...hb, ...data];
  fs.writeFileSync(f, Uint8Array.from(bytes));
  const r = readSafetensors(f);
  assert.deepEqual(r.metadata, { format: 'pt' });
  assert.deepEqual(r.tensors.w.shape, [2, 2]);
  assert.deepEqual(Array.from(r.tensors.w.data), [1, 2, -0.5, 0.25]);
  const h = readSafetensorsHeader(f);
  assert.equal(h.headerLength, len);
  assert.equal(h.dataStart, 8 + len);
  assert.equal(h.fileSize, bytes.length);
  assert.deepEqual(h.tensors.w, { dtype: 'F32', shape: [2, 2], dataOffsets: [0, 16] });
});

test('safetensors: F16, BF16, I64, U8 decoding against known values', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'half.safetensors');
  const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00, 0x8000, 0x7e00];
  const f16want = [1, -2, 65504, 2 ** -24, 0.333251953125, -Infinity, -0, NaN];
  const bf16 = [0x3f80, 0xc0a0, 0x4049, 0x0000];
  const bf16want = [1, -5, 3.140625, 0];
  const le16 = (xs: number[]) => xs.flatMap((x) => [x & 0xff, x >> 8]);
  // I64: 5, -3 (two's complement little-endian)
  const i64 = [5, 0, 0, 0, 0, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  const data = [...le16(bf16), ...le16(f16), ...i64, 200, 7];
  const bytes = buildFile(
    {
      b: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] },
      h: { dtype: 'F16', shape: [2, 4], data_offsets: [8, 24] },
      l: { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
      u: { dtype: 'U8', shape: [2], data_offsets: [40, 42] },
    },
    data,
  );
  fs.writeFileSync(f, bytes);
  const r = readSafetensors(f);
  assert.equal(r.tensors.h.dtype, 'F32');
  assert.equal(r.tensors.h.sourceDtype, 'F16');
  assert.deepEqual(Array.from(r.tensors.h.data), f16want);
  assert.ok(Object.is(r.tensors.h.data[6], -0));
  assert.equal(r.tensors.b.dtype, 'F32');
  assert.equal(r.tensors.b.sourceDtype, 'BF16');
  assert.deepEqual(Array.from(r.tensors.b.data), bf16want);
  assert.equal(r.tensors.l.dtype, 'I32');
  assert.deepEqual(Array.from(r.tensors.l.data), [5, -3]);
  assert.equal(r.tensors.u.dtype, 'U8');
  assert.deepEqual(Array.from(r.tensors.u.data), [200, 7]);
});

function expectError(file: string, re: RegExp): void {
  assert.throws(
    () => readSafetensors(file),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
      assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('safetensors: truncated files give errors naming the file and the problem', () => {
  const dir = tmpDir();
  const good = path.join(dir, 'good.safetensors');
  writeSafetensors(good, { x: { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) } });
  const full = fs.readFileSync(good);

  const cutData = path.join(dir, 'cut-data.safetensors');
  fs.writeFileSync(cutData, full.subarray(0, full.length - 3));
  expectError(cutData, /truncated file: tensor "x" data_offsets \[0, 16\] are beyond the file size/);
  assert.throws(() => readSafetensorsHeader(cutData), /truncated file/);

  const cutHeader = path.join(dir, 'cut-header.safetensors');
  fs.writeFileSync(cutHeader, full.subarray(0, 20));
  expectError(cutHeader, /truncated file: header length \d+ bytes is beyond the file size \(20 bytes/);
  assert.throws(() => readSafetensorsHeader(cutHeader), /truncated file: header length/);

  const tiny = path.join(dir, 'tiny.safetensors');
  fs.writeFileSync(tiny, full.subarray(0, 5));
  expectError(tiny, /truncated file: 5 bytes/);
});

test('safetensors: bad headers, inconsistent offsets, overlaps, gaps, unsupported dtypes', () => {
  const dir = tmpDir();
  const write = (name: string, bytes: Uint8Array) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };
  const eight = new Array(8).fill(0);

  const badJson = new Uint8Array(8 + 8);
  badJson[0] = 8;
  badJson.set(new TextEncoder().encode('{"x":   '), 8);
  expectError(write('badjson.safetensors', badJson), /bad JSON header/);

  expectError(
    write('size.safetensors', buildFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight)),
    /tensor "x": data_offsets \[0, 8\] span 8 bytes but shape \[3\] of F32 needs 12/,
  );
  expectError(
    write('overlap.safetensors', buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight)),
    /overlap tensor "a"/,
  );
  expectError(
    write('gap.safetensors', buildFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] } }, eight)),
    /gap in data: bytes \[4, 6\)/,
  );
  expectError(
    write('trailing.safetensors', buildFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, eight)),
    /4 trailing bytes/,
  );
  expectError(
    write('dtype.safetensors', buildFile({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, eight)),
    /tensor "a": unsupported dtype "C64"/,
  );
  expectError(
    write('meta.safetensors', buildFile({ __metadata__: { n: 3 }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, eight)),
    /__metadata__."n" must be a string/,
  );
  const i64big = [0, 0, 0, 0, 1, 0, 0, 0]; // 2^32
  expectError(write('i64.safetensors', buildFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, i64big)), /does not fit in int32/);
});

test('safetensors writer rejects data/shape mismatches with the tensor name', () => {
  const f = path.join(tmpDir(), 'w.safetensors');
  assert.throws(() => writeSafetensors(f, { q: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), /tensor "q": shape \[2,2\] has 4 elements but data has 3/);
  assert.throws(() => writeSafetensors(f, { q: { dtype: 'I32', shape: [1], data: new Float32Array(1) as unknown as Int32Array } }), /tensor "q": dtype I32 needs an Int32Array/);
  assert.equal(fs.existsSync(f), false);
});

// ----------------------------------------------------------------------------------------------- atomic

test('writeFileAtomic replaces content and leaves no temp files; failure leaves the old file', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'status.json');
  writeFileAtomic(f, '{"a":1}');
  assert.equal(fs.readFileSync(f, 'utf8'), '{"a":1}');
  writeFileAtomic(f, [Buffer.from('{"a":'), Buffer.from('2}')]);
  assert.equal(fs.readFileSync(f, 'utf8'), '{"a":2}');
  assert.deepEqual(fs.readdirSync(dir), ['status.json']);

  // rename onto a non-empty directory fails: the temp file must be cleaned up
  const blocker = path.join(dir, 'blocked');
  fs.mkdirSync(blocker);
  fs.writeFileSync(path.join(blocker, 'x'), 'x');
  assert.throws(() => writeFileAtomic(blocker, 'data'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked', 'status.json']);
  assert.equal(fs.readFileSync(f, 'utf8'), '{"a":2}');
});

test('removeStaleTemps: temp files and world temp folders of dead writers go, a live writer\'s and other files stay', () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-stale-'));
  const dead = 999999999;
  for (const n of [`status.json.tmp-${dead}-a1b2c3d4`, `status.json.tmp-${process.pid}-a1b2c3d4`, 'status.json', 'notes.tmp', `.world.tmp-${dead}-1733000000000`]) {
    if (n.startsWith('.world')) fs.mkdirSync(path.join(d, n)); else fs.writeFileSync(path.join(d, n), 'x');
  }
  const removed = removeStaleTemps(d, isProcessAlive).map((p) => path.basename(p)).sort();
  assert.deepEqual(removed, [`.world.tmp-${dead}-1733000000000`, `status.json.tmp-${dead}-a1b2c3d4`]);
  assert.deepEqual(fs.readdirSync(d).sort(), ['notes.tmp', 'status.json', `status.json.tmp-${process.pid}-a1b2c3d4`].sort());
  fs.rmSync(d, { recursive: true, force: true });
});

test('a full disk is an error naming the file (appendLine to /dev/full: ENOSPC)', { skip: !fs.existsSync('/dev/full') }, () => {
  assert.throws(() => appendLine('/dev/full', { step: 1 }), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ENOSPC');
    assert.match(e.message, /^disk full \(ENOSPC\) while writing \/dev\/full: free space/);
    return true;
  });
});

test('appendLine keeps earlier lines byte for byte', () => {
  const dir = tmpDir();
  const f = path.join(dir, 'metrics.jsonl');
  fs.writeFileSync(f, '{"old":1}\n{"old":2}\n');
  appendLine(f, { step: 1, loss: 0.5 });
  appendLine(f, { step: 2, s: 'a\nb' }, { fsync: false });
  assert.equal(fs.readFileSync(f, 'utf8'), '{"old":1}\n{"old":2}\n{"step":1,"loss":0.5}\n{"step":2,"s":"a\\nb"}\n');
  assert.throws(() => appendLine(f, undefined), /not JSON-serialisable/);
});

// ----------------------------------------------------------------------------------------------- run dirs

function status(over: Partial<RunStatus> = {}): RunStatus {
  return {
    runId: 'r',
    experiment: '/x/kd-experiment.json',
    state: 'running',
    stages: ['teacher/sft', 'kd/dft'],
    completedStages: [],
    stage: 'teacher/sft',
    step: 0,
    totalSteps: 10,
    globalStep: 0,
    globalTotalSteps: 20,
    pid: process.pid,
    backend: 'cpu',
    startedAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...over,
  };
}

function metrics(step: number): MetricsLine {
  return { time: 't', stage: 'kd/dft', step, globalStep: step, lr: 1e-3, loss: { total: 1 / step, ce: 1 }, weighted: { ce: 1 }, weights: { ce: 1 }, gradNorm: 0.1, samplesPerSec: 3 };
}

test('createRunDir twice in the same second gives different folders, never reusing one', () => {
  const exp = tmpDir();
  const now = new Date(2024, 4, 6, 7, 8, 9);
  const ids = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const { runId, dir } = createRunDir(exp, now);
    assert.match(runId, /^20240506-070809-[0-9a-f]{4}$/);
    assert.equal(dir, path.join(path.resolve(exp), 'runs', runId));
    assert.ok(fs.statSync(path.join(dir, 'checkpoints')).isDirectory());
    ids.add(runId);
  }
  assert.equal(ids.size, 40);
});

test('RunWriter writes status/config atomically, merges updates, appends without truncating', () => {
  const exp = tmpDir();
  const { runId, dir } = createRunDir(exp);
  const w = new RunWriter(dir);
  w.writeConfig({ seed: 1 });
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), { seed: 1 });
  w.writeStatus(status({ runId }));
  const before = Date.now();
  const s2 = w.updateStatus({ step: 3, etaSeconds: 12 });
  assert.equal(s2.step, 3);
  assert.equal(s2.totalSteps, 10);
  assert.ok(Date.parse(s2.updatedAt) >= before - 1000);
  const r = readStatus(dir);
  assert.ok(r.ok);
  assert.equal(r.status.step, 3);
  assert.equal(r.status.etaSeconds, 12);
  w.appendMetrics(metrics(1));
  // a new writer over the same folder (resume) keeps what is there
  const w2 = new RunWriter(dir);
  w2.appendMetrics(metrics(2));
  const s3 = w2.updateStatus({ state: 'completed' }); // reads the last status from disk
  assert.equal(s3.step, 3);
  assert.equal(s3.state, 'completed');
  const m = readJsonl<MetricsLine>(path.join(dir, 'metrics.jsonl'));
  assert.deepEqual(m.rows.map((x) => x.step), [1, 2]);
  assert.deepEqual(m.errors, []);
  w2.log('hello\nworld');
  const log = fs.readFileSync(path.join(dir, 'train.log'), 'utf8').split('\n');
  assert.match(log[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z hello$/);
  assert.match(log[1], /^\d{4}-\d\d-\d\dT[\d:.]+Z world$/);
  assert.equal(w.checkpointPath('kd-dft'), path.join(dir, 'checkpoints', 'kd-dft.safetensors'));
  assert.equal(w.checkpointPath('resume.safetensors'), path.join(dir, 'checkpoints', 'resume.safetensors'));
  assert.throws(() => w.checkpointPath('../x'), /invalid checkpoint name/);
  assert.ok(!fs.readdirSync(dir).some((n) => n.includes('.tmp-')));
  assert.throws(() => new RunWriter(path.join(exp, 'nope')), /does not exist/);
});

// ----------------------------------------------------------------------------------------------- run reader

test('readJsonl skips a corrupt middle line and a half-written last line, with line numbers', () => {
  const f = path.join(tmpDir(), 'm.jsonl');
  fs.writeFileSync(f, '{"a":1}\n{"a":2,\n\n{"a":3}\r\n[1]\n{"a":4}\n{"a":5,"b"');
  const r = readJsonl<{ a: number }>(f);
  assert.deepEqual(r.rows, [{ a: 1 }, { a: 3 }, { a: 4 }]);
  assert.deepEqual(r.errors.map((e) => e.line), [2, 5, 7]);
  assert.match(r.errors[0].message, /invalid JSON/);
  assert.match(r.errors[1].message, /expected a JSON object/);
  assert.match(r.errors[2].message, /incomplete last line/);
  const missing = readJsonl(path.join(tmpDir(), 'none.jsonl'));
  assert.deepEqual(missing, { rows: [], errors: [], missing: true });
});

test('JsonlTail returns only new complete lines, including one completed between reads', () => {
  const f = path.join(tmpDir(), 't.jsonl');
  const tail = new JsonlTail<{ n: number }>(f);
  assert.deepEqual(tail.read().rows, []); // file not there yet
  fs.writeFileSync(f, '{"n":1}\n{"n":2}\n');
  assert.deepEqual(tail.read().rows, [{ n: 1 }, { n: 2 }]);
  assert.deepEqual(tail.read().rows, []);
  fs.appendFileSync(f, '{"n":3}\n{"n":');
  assert.deepEqual(tail.read().rows, [{ n: 3 }]);
  assert.equal(tail.position, fs.statSync(f).size);
  fs.appendFileSync(f, '4, "s":"é');
  assert.deepEqual(tail.read().rows, []);
  fs.appendFileSync(f, '"}\nbad\n{"n":5}\n');
  const r = tail.read();
  assert.deepEqual(r.rows, [{ n: 4, s: 'é' }, { n: 5 }]);
  assert.deepEqual(r.errors.map((e) => e.line), [5]);
  assert.equal(r.reset, false);
  // a multi-byte character split across two reads
  const bytes = Buffer.from('{"s":"€"}\n');
  fs.appendFileSync(f, bytes.subarray(0, 7));
  assert.deepEqual(tail.read().rows, []);
  fs.appendFileSync(f, bytes.subarray(7));
  assert.deepEqual(tail.read().rows, [{ s: '€' }]);
  // file rewritten shorter: the tail restarts from the top and says so
  fs.writeFileSync(f, '{"n":9}\n');
  const again = tail.read();
  assert.equal(again.reset, true);
  assert.deepEqual(again.rows, [{ n: 9 }]);
  // final: a last line without newline is parsed once the writer is known to be done
  fs.appendFileSync(f, '{"n":10}');
  assert.deepEqual(tail.read().rows, []);
  assert.deepEqual(tail.read({ final: true }).rows, [{ n: 10 }]);
});

test('effectiveState: running with a dead pid is failed; isProcessAlive', () => {
  const child = spawnSync(process.execPath, ['-e', '0']);
  const deadPid = child.pid!;
  assert.ok(deadPid > 0);
  assert.equal(isProcessAlive(deadPid), false);
  assert.equal(isProcessAlive(process.pid), true);
  assert.equal(isProcessAlive(0), false);
  assert.equal(isProcessAlive(-1), false);
  assert.deepEqual(effectiveState(status({ pid: deadPid })), { state: 'failed', error: CRASHED_MESSAGE, crashed: true });
  assert.equal(CRASHED_MESSAGE, 'trainer process ended without finishing (crashed or killed)');
  assert.deepEqual(effectiveState(status({ pid: process.pid })), { state: 'running', crashed: false });
  assert.deepEqual(effectiveState(status({ pid: deadPid, state: 'completed' })), { state: 'completed', crashed: false });
  assert.deepEqual(effectiveState(status({ state: 'failed', error: 'NaN in kd/dft step 3' }), () => true), { state: 'failed', error: 'NaN in kd/dft step 3', crashed: false });
  // A sweep point running on a Slurm compute node: its pid is not judged on the login node.
  const onNode = status({ pid: deadPid, job: { sweep: 's', point: 0, engine: 'slurm', jobId: '7_0', host: 'node17', attempt: 1 } });
  assert.deepEqual(effectiveState(onNode, isProcessAlive, 'login1'), { state: 'running', crashed: false });
  assert.deepEqual(effectiveState(onNode, isProcessAlive, 'node17'), { state: 'failed', error: CRASHED_MESSAGE, crashed: true });
});

test('readStatus and listRuns: newest first, errors for missing/invalid status, checkpoints listed', () => {
  const exp = tmpDir();
  assert.deepEqual(listRuns(exp), []);
  const old = createRunDir(exp, new Date(2023, 0, 1, 10, 0, 0));
  const mid = createRunDir(exp, new Date(2023, 0, 2, 10, 0, 0));
  const neu = createRunDir(exp, new Date(2023, 0, 3, 10, 0, 0));
  const broken = createRunDir(exp, new Date(2022, 0, 1, 0, 0, 0));
  new RunWriter(old.dir).writeStatus(status({ runId: old.runId, state: 'completed', startedAt: '2023-01-01T10:00:00.000Z' }));
  new RunWriter(neu.dir).writeStatus(status({ runId: neu.runId, pid: 999999999, startedAt: '2023-01-03T10:00:00.000Z' }));
  fs.writeFileSync(path.join(broken.dir, 'status.json'), '{"runId": "x", "state": "weird"');
  writeSafetensors(new RunWriter(old.dir).checkpointPath('kd-dft'), { a: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
  fs.writeFileSync(path.join(old.dir, 'checkpoints', 'resume.safetensors.tmp-1-ab12'), 'partial');

  const runs = listRuns(exp);
  assert.deepEqual(runs.map((r) => r.runId), [neu.runId, mid.runId, old.runId, broken.runId]);
  assert.equal(runs[0].effective?.state, 'failed');
  assert.equal(runs[0].effective?.error, CRASHED_MESSAGE);
  assert.equal(runs[1].status, null);
  assert.equal(runs[1].error?.reason, 'missing');
  assert.equal(runs[2].effective?.state, 'completed');
  assert.deepEqual(runs[2].checkpoints.map((c) => c.name), ['kd-dft.safetensors']);
  assert.equal(runs[2].checkpoints[0].size, fs.statSync(path.join(old.dir, 'checkpoints', 'kd-dft.safetensors')).size);
  assert.equal(runs[3].error?.reason, 'invalid');
  assert.match(runs[3].error!.message, /status\.json: invalid JSON/);

  fs.writeFileSync(path.join(broken.dir, 'status.json'), JSON.stringify({ ...status(), state: 'weird' }));
  const bad = readStatus(broken.dir);
  assert.ok(!bad.ok);
  assert.match(bad.message, /field "state" must be one of running, completed, failed, stopped, got "weird"/);
});
