/**
 * Fingerprint of the training data a teacher was trained on. The built-in world is a function of
 * its generator version, its config and the extra texts of its vocabulary, so its fingerprint
 * needs no files. LLaVA-format data is fingerprinted by the bytes of its caption, instruction and
 * tokenizer files and the path and size of every image they reference (reading every image would
 * make each run pay for hashing the whole image folder). Node only (fs, crypto).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ExperimentConfig } from '../config/types';
import { WORLD_GENERATOR_VERSION } from './world/generate';
import { resolveDataPath } from '../train/data';

export function dataFingerprint(cfg: ExperimentConfig, experimentFile: string): string {
  const h = createHash('sha256');
  if (cfg.data.source === 'world') {
    const w = cfg.data.world;
    h.update(JSON.stringify(['llava-kd-world', WORLD_GENERATOR_VERSION, w.seed, w.imageSize, w.trainImages, w.valImages, w.testImages, w.maxObjects, w.holdOutCombos, [cfg.data.systemPrompt]]));
    return `world:${h.digest('hex').slice(0, 24)}`;
  }
  const folder = resolveDataPath(experimentFile, cfg.data.imageFolder);
  for (const f of [cfg.data.captions, cfg.data.instructions, cfg.data.tokenizer]) {
    const bytes = readFileSync(resolveDataPath(experimentFile, f));
    h.update(bytes).update('\n');
    if (f === cfg.data.tokenizer) continue;
    const images = new Set<string>();
    for (const r of JSON.parse(bytes.toString('utf8')) as { image?: string }[]) if (typeof r.image === 'string') images.add(r.image);
    for (const im of [...images].sort()) {
      let size = -1;
      try { size = statSync(resolve(folder, im)).size; } catch { /* a missing image fails later, in the loader */ }
      h.update(`${im}\t${size}\n`);
    }
  }
  return `llava:${h.digest('hex').slice(0, 24)}`;
}
