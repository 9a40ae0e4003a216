/**
 * The data order of a stage: a deterministic shuffle per epoch over n items, so the position in
 * the data is a single cursor (saved in checkpoints, which makes resume exact).
 */

/** Deterministic epoch-wise shuffled order over n items: the data position is just a cursor. */
export class Sampler {
  constructor(private readonly n: number, private readonly seed: number) {}

  private orderCache = new Map<number, Uint32Array>();

  private order(epoch: number): Uint32Array {
    let o = this.orderCache.get(epoch);
    if (!o) {
      o = new Uint32Array(this.n);
      for (let i = 0; i < this.n; i++) o[i] = i;
      let s = (this.seed * 2654435761 + epoch * 40503 + 1) >>> 0;
      for (let i = this.n - 1; i > 0; i--) {
        s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
        s ^= s >>> 13;
        const j = s % (i + 1);
        const t = o[i]; o[i] = o[j]; o[j] = t;
      }
      this.orderCache.clear();
      this.orderCache.set(epoch, o);
    }
    return o;
  }

  /** Indices for the items at global cursor positions [cursor, cursor + count). */
  take(cursor: number, count: number): number[] {
    const out: number[] = [];
    for (let c = cursor; c < cursor + count; c++) out.push(this.order(Math.floor(c / this.n))[c % this.n]);
    return out;
  }
}
