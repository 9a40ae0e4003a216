// Tests of media/lib/throttle.ts: coalescing, the delay, the minimum interval and `now`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throttled } from '../media/lib/throttle';

function fakeClock() {
  let t = 0;
  const timers: { at: number; cb: () => void }[] = [];
  return {
    now: () => t,
    setTimer: (cb: () => void, ms: number) => timers.push({ at: t + ms, cb }),
    advance(ms: number) {
      t += ms;
      for (const x of timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)) {
        timers.splice(timers.indexOf(x), 1);
        x.cb();
      }
    },
  };
}

test('throttle: calls coalesce; the first runs after the delay, later ones no sooner than the interval', () => {
  const c = fakeClock();
  let runs = 0;
  const schedule = throttled(() => runs++, { delayMs: 30, minIntervalMs: 400, setTimer: c.setTimer, now: c.now });
  schedule(); schedule(); schedule();
  c.advance(29);
  assert.equal(runs, 0);
  c.advance(1);
  assert.equal(runs, 1, 'three calls, one run');
  schedule();
  c.advance(100);
  assert.equal(runs, 1, 'inside the interval');
  c.advance(300);
  assert.equal(runs, 2, 'at 400 ms after the previous run');
  schedule(true);
  c.advance(0);
  assert.equal(runs, 3, '`now` skips the waits');
});
