/**
 * Picks and initialises the TensorFlow.js backend: native GPU, native CPU, wasm (default here)
 * or pure-JS cpu. Native packages are optional: any error while loading them falls through.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import type { BackendName } from './config/types';

export interface BackendInfo {
  /** Backend requested on the command line / in the config. */
  requested: BackendName;
  /** Name used in logs and status.json: tensorflow-gpu | tensorflow | wasm | cpu. */
  name: string;
  /** Why earlier candidates were skipped (for the log). */
  skipped: string[];
}

/** Folder holding the tfjs-backend-wasm .wasm binaries: next to the bundle, else in node_modules. */
function wasmDir(): string {
  const candidates = [__dirname, join(__dirname, '..'), join(__dirname, '..', '..', 'dist')];
  for (const c of candidates) if (existsSync(join(c, 'tfjs-backend-wasm-simd.wasm'))) return c + '/';
  const req = createRequire(__filename);
  return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/';
}

/** The trainer's own package folder: the nearest folder above this file with its package.json. */
function ownPackageRoot(): string | null {
  for (let d = __dirname; ; d = dirname(d)) {
    try {
      if ((JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string }).name === 'llava-kd-studio') return d;
    } catch { /* no package.json here */ }
    if (dirname(d) === d) return null;
  }
}

/**
 * Folders a native tfjs-node package may be loaded from, and nothing else: LLAVA_KD_NATIVE_PATH
 * (the extension installs tfjs-node-gpu into its storage there) and the trainer's own install.
 * Never the working folder nor any parent's node_modules: a package planted there would run code.
 */
export function nativeRoots(): string[] {
  return [process.env.LLAVA_KD_NATIVE_PATH, ownPackageRoot()].filter((x): x is string => !!x);
}

/** Loads `<root>/node_modules/<pkg>` by its exact path from the first root that holds it. */
function tryRequireNative(pkg: string): string | null {
  let lastError = `not installed in ${nativeRoots().map((r) => join(r, 'node_modules')).join(' or ')}`;
  const req = createRequire(__filename);
  for (const root of nativeRoots()) {
    const dir = join(root, 'node_modules', pkg);
    if (!existsSync(join(dir, 'package.json'))) continue;
    try {
      req(dir);
      return null;
    } catch (e) {
      lastError = (e as Error).message.split('\n')[0];
    }
  }
  return lastError;
}

async function useNative(pkg: string, backend: string): Promise<string | null> {
  const err = tryRequireNative(pkg);
  if (err) return `${pkg}: ${err}`;
  try {
    if (!(await tf.setBackend(backend))) return `${pkg}: backend '${backend}' did not initialise`;
    return null;
  } catch (e) {
    return `${pkg}: ${(e as Error).message}`;
  }
}

async function useWasm(): Promise<string | null> {
  try {
    setWasmPaths(wasmDir());
    // No kernel registrations needed: gatherRows() (nn/ops.ts) gives gathers a ScatterNd
    // gradient (wasm lacks UnsortedSegmentSum), and linear layers use untransposed matMuls.
    if (!(await tf.setBackend('wasm'))) return 'wasm backend did not initialise';
    return null;
  } catch (e) {
    return `wasm: ${(e as Error).message}`;
  }
}

/**
 * Initialises the requested backend. `auto` tries tensorflow-gpu, then tensorflow, then wasm.
 * Never silently drops to the slow pure-JS cpu backend: only an explicit `cpu` gets it.
 */
export async function initBackend(requested: BackendName): Promise<BackendInfo> {
  const skipped: string[] = [];
  const order: BackendName[] =
    requested === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm'] : [requested];
  for (const b of order) {
    let err: string | null;
    if (b === 'tensorflow-gpu') err = await useNative('@tensorflow/tfjs-node-gpu', 'tensorflow');
    else if (b === 'tensorflow') err = await useNative('@tensorflow/tfjs-node', 'tensorflow');
    else if (b === 'wasm') err = await useWasm();
    else err = (await tf.setBackend('cpu')) ? null : 'cpu backend did not initialise';
    if (!err) return { requested, name: b, skipped };
    skipped.push(err);
  }
  throw new Error(`could not initialise backend '${requested}': ${skipped.join('; ')}`);
}
