// The import rules of the layers, checked from the imports themselves (a leak fails CI):
// the trainer never imports vscode or the extension's layers; src/common stays pure; the host
// and the views do no tensor math and reach into the trainer only for its config code; the
// host does not import the views; src/host/core (the host's pure logic) imports no vscode and no
// vscode-bound host file; webview code imports only media/ and src/common/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface Import {
  file: string;
  spec: string;
  typeOnly: boolean;
  /** Repo-relative target of a relative import, else null. */
  target: string | null;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(rel));
    else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every static, re-export, side-effect and dynamic import of a file. */
export function importsOf(rel: string, text = fs.readFileSync(path.join(ROOT, rel), 'utf8')): Import[] {
  const out: Import[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4];
    const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(rel), spec)) : null;
    out.push({ file: rel, spec, typeOnly: !!m[2], target });
  }
  return out;
}

const under = (t: string | null, dir: string): boolean => t !== null && (t === dir || t.startsWith(dir + path.sep));
const fmt = (i: Import): string => `${i.file} imports '${i.spec}'`;

/** The rule violations of one import (empty when it is allowed). */
export function violations(i: Import): string[] {
  const out: string[] = [];
  const f = i.file;
  const tf = i.spec.startsWith('@tensorflow/');
  if (under(f, 'src/trainer')) {
    if (i.spec === 'vscode') out.push(`${fmt(i)}: the trainer runs as a plain Node process`);
    if (['src/host', 'src/views', 'media', 'src/extension'].some((d) => under(i.target, d))) out.push(`${fmt(i)}: the trainer does not import the extension's layers`);
  } else if (under(f, 'src/common')) {
    if (i.spec === 'vscode' || tf) out.push(`${fmt(i)}: src/common is pure (no vscode, no tensors)`);
    if (i.target && !under(i.target, 'src/common') && !(under(i.target, 'src/trainer/config') && i.typeOnly)) out.push(`${fmt(i)}: src/common imports only src/common (and config types)`);
  } else if (under(f, 'src/host') || under(f, 'src/views') || f === path.join('src', 'extension.ts')) {
    if (tf) out.push(`${fmt(i)}: the host does no tensor math`);
    if (under(i.target, 'src/trainer') && !under(i.target, 'src/trainer/config')) out.push(`${fmt(i)}: the host uses only the trainer's config code (the trainer runs in a child process)`);
    if (under(i.target, 'media')) out.push(`${fmt(i)}: the host does not import webview code`);
    if (under(f, 'src/host') && under(i.target, 'src/views')) out.push(`${fmt(i)}: src/host does not import src/views (pass a dependency instead)`);
    if (under(f, 'src/host/core') && (i.spec === 'vscode' || (under(i.target, 'src/host') && !under(i.target, 'src/host/core')))) out.push(`${fmt(i)}: src/host/core is the host's vscode-free logic (unit-tested without VS Code)`);
  } else if (under(f, 'media')) {
    if (i.spec === 'vscode' || tf) out.push(`${fmt(i)}: webview code runs in the browser`);
    if (i.target && !under(i.target, 'media') && !under(i.target, 'src/common')) out.push(`${fmt(i)}: webview code imports only media/ and src/common/ (through typed messages)`);
  }
  return out;
}

test('layers: every import of src/ and media/ follows the rules', () => {
  const all = [...filesUnder('src'), ...filesUnder('media')].flatMap((f) => importsOf(f));
  assert.ok(all.length > 300, `imports found (${all.length})`);
  assert.deepEqual(all.flatMap(violations), []);
});

test('layers: the checker catches each kind of leak', () => {
  const leak = (file: string, line: string): string[] => importsOf(file, line).flatMap(violations);
  assert.equal(leak('media/lib/x.ts', "import { toRunInfo } from '../../src/host/core/runModel';").length, 1);
  assert.equal(leak('media/x.ts', "import '../src/trainer/nn/ops';").length, 1, 'side-effect import');
  assert.equal(leak('src/trainer/train/x.ts', "import * as vscode from 'vscode';").length, 1);
  assert.equal(leak('src/host/x.ts', "import * as tf from '@tensorflow/tfjs';").length, 1);
  assert.equal(leak('src/host/x.ts', "import type { Panels } from '../views/panels';").length, 1);
  assert.equal(leak('src/views/x.ts', "const m = await import('../trainer/train/runner');").length, 1, 'dynamic import');
  assert.equal(leak('src/common/x.ts', "import { PRESETS } from '../trainer/config';").length, 1, 'a value import of the trainer from common');
  assert.equal(leak('src/common/x.ts', "import type { ExperimentConfig } from '../trainer/config/types';").length, 0);
  assert.equal(leak('src/host/x.ts', "import { PRESETS } from '../trainer/config';").length, 0);
  assert.equal(leak('src/host/core/x.ts', "import * as vscode from 'vscode';").length, 1, 'vscode in the host core');
  assert.equal(leak('src/host/core/x.ts', "import { configuredBackend } from '../trainerManager';").length, 1, 'the host core reaching a vscode-bound host file');
  assert.equal(leak('src/host/x.ts', "import { buildTree } from './core/treeModel';").length, 0);
  assert.equal(leak('media/x.ts', "export { h } from './lib/dom';\nimport type { LossTerm } from '../src/common/runFormat';").length, 0);
});
