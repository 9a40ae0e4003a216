/**
 * A child process of test/lockFile.test.ts, started several times at once; each waits for the
 * same start time, so that they collide. Modes:
 *   world <dir> <startAt> <readMs>: generates the tiny preset's world in <dir>, then keeps
 *     reading its files and checking its images exist for <readMs> (what a run does meanwhile);
 *   lock <file> <startAt> <maxHoldMs>: tries to take the lock once; a taker holds it until the
 *     test writes `<file>.done` (after every other child has answered), at most <maxHoldMs>.
 * Prints one JSON line: {ok, error?, took?} and exits 0.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { presetConfig } from '../../src/trainer/config/presets';
import { generateWorld } from '../../src/trainer/data';
import { releaseLock, sleepMs, takeLock } from '../../src/trainer/io/lockFile';

const [mode, target, startAt, ms] = process.argv.slice(2);
while (Date.now() < Number(startAt)) sleepMs(1);
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

try {
  if (mode === 'world') {
    const cfg = presetConfig('tiny');
    generateWorld(cfg.data.world, target, { extraTexts: [cfg.data.systemPrompt] });
    const t0 = Date.now();
    do {
      for (const f of ['captions.json', 'instruct.json', 'val.json', 'test.json', 'tokenizer.json']) JSON.parse(readFileSync(join(target, f), 'utf8'));
      for (const split of ['train', 'val', 'test']) {
        const dir = join(target, 'images', split);
        for (const img of readdirSync(dir)) if (!existsSync(join(dir, img))) throw new Error(`${join(dir, img)} vanished`);
      }
    } while (Date.now() - t0 < Number(ms));
    say({ ok: true });
  } else if (mode === 'lock') {
    const took = takeLock(target);
    if (took) {
      const t0 = Date.now();
      while (!existsSync(`${target}.done`) && Date.now() - t0 < Number(ms)) sleepMs(20);
      releaseLock(target);
    }
    say({ ok: true, took });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  say({ ok: false, error: (e as Error).message });
}
