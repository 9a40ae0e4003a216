/**
 * The one render scheduler of the webview apps: calls coalesce into a single run of `fn`, after
 * `delayMs`, and no sooner than `minIntervalMs` after the previous run (the dashboard redraws at
 * most every 400 ms while a run streams); `now` skips both waits. Unit-tested in
 * test/webview-throttle.test.ts.
 */
export interface ThrottleOptions {
  delayMs?: number;
  minIntervalMs?: number;
  /** Injected for tests; the browser's setTimeout by default. */
  setTimer?: (cb: () => void, ms: number) => unknown;
  now?: () => number;
}

export function throttled(fn: () => void, o: ThrottleOptions = {}): (now?: boolean) => void {
  const setTimer = o.setTimer ?? ((cb: () => void, ms: number) => setTimeout(cb, ms));
  const clock = o.now ?? Date.now;
  let pending = false;
  let last = -Infinity;
  return (immediately = false) => {
    if (pending) return;
    pending = true;
    const wait = immediately ? 0 : Math.max(o.delayMs ?? 0, (o.minIntervalMs ?? 0) - (clock() - last));
    setTimer(() => {
      pending = false;
      last = clock();
      fn();
    }, wait);
  };
}
