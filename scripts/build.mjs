// Bundles the extension host, the trainer CLI and the webview apps with esbuild,
// copies the wasm binaries the trainer needs next to its bundle, the webview css and codicons
// to dist/media, and writes dist/kd-experiment.schema.json and dist/kd-experiment.editor-schema.json
// (the describe-only one is the manifest's jsonValidation).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native TensorFlow builds are optional: never bundled, loaded at run time if installed. */
const nativeExternals = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const builds = [
  { ...common, entryPoints: [join(root, 'src/trainer/cli/main.ts')], outfile: join(dist, 'cli.js'), platform: 'node', target: 'node20', format: 'cjs', external: nativeExternals, banner: { js: '#!/usr/bin/env node' } },
  // The training worker threads of a run (src/trainer/train/stepPool.ts), a sibling of cli.js.
  { ...common, entryPoints: [join(root, 'src/trainer/train/stepWorker.ts')], outfile: join(dist, 'stepWorker.js'), platform: 'node', target: 'node20', format: 'cjs', external: nativeExternals },
];
if (existsSync(join(root, 'src/extension.ts'))) {
  builds.push({ ...common, entryPoints: [join(root, 'src/extension.ts')], outfile: join(dist, 'extension.js'), platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'] });
}
const mediaDir = join(root, 'media');
for (const f of existsSync(mediaDir) ? readdirSync(mediaDir) : []) {
  if (/^[a-zA-Z]+App\.ts$/.test(f)) {
    builds.push({ ...common, entryPoints: [join(mediaDir, f)], outfile: join(dist, 'media', f.replace(/\.ts$/, '.js')), platform: 'browser', target: 'es2022', format: 'iife' });
  }
}

const wasmSrc = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmSrc).filter((f) => f.endsWith('.wasm'))) {
  copyFileSync(join(wasmSrc, f), join(dist, f));
}
const codicons = join(root, 'node_modules/@vscode/codicons/dist');
if (existsSync(codicons)) {
  mkdirSync(join(dist, 'media'), { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(join(codicons, f), join(dist, 'media', f));
}

// Webview stylesheets (media/*.css) next to the app bundles.
mkdirSync(join(dist, 'media'), { recursive: true });
for (const f of existsSync(mediaDir) ? readdirSync(mediaDir) : []) {
  if (f.endsWith('.css')) copyFileSync(join(mediaDir, f), join(dist, 'media', f));
}

// JSON Schemas of kd-experiment.json, generated from the config schema: the full one and the
// describe-only one the manifest's jsonValidation names (the trainer's validator reports problems).
const schemaScript = join(root, 'scripts/write-schema.ts');
if (existsSync(schemaScript)) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', schemaScript, join(dist, 'kd-experiment.schema.json'), join(dist, 'kd-experiment.editor-schema.json')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`scripts/write-schema.ts failed (exit ${r.status}):\n${r.stderr || r.error}`);
    process.exit(1);
  }
}

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
