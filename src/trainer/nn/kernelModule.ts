/**
 * Loading and addressing our own WebAssembly kernel modules (compiled from kernels/*.ts by
 * scripts/build-kernels.mjs, committed base64): one instance per module, created on first use,
 * operands laid out in its memory above the module's static data. Imports nothing.
 */

/** Operands start above a module's own static data. */
const BASE = 65536;

/** Exports every kernel module has, besides its kernels. */
export interface KernelExports {
  memory: WebAssembly.Memory;
}

/** A kernel module instance and typed views onto its memory. */
export class KernelModule<E extends KernelExports> {
  constructor(readonly k: E) {}

  /** Byte offsets of consecutive 16-byte-aligned regions of the given 4-byte element counts, the memory grown to hold them. */
  layout(lengths: number[]): number[] {
    const offsets: number[] = [];
    let at = BASE;
    for (const n of lengths) {
      offsets.push(at);
      at += Math.ceil((n * 4) / 16) * 16;
    }
    const have = this.k.memory.buffer.byteLength;
    if (at > have) this.k.memory.grow(Math.ceil((at - have) / 65536));
    return offsets;
  }

  /** n f32 at a byte offset (valid until the memory grows: take views after layout()). */
  f32(offset: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, offset, n);
  }

  /** n i32 at a byte offset. */
  i32(offset: number, n: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, offset, n);
  }
}

/** The module compiled into `base64`, instantiated on the first call and reused. */
export function lazyKernelModule<E extends KernelExports>(base64: string, what: string): () => KernelModule<E> {
  let m: KernelModule<E> | undefined;
  return () => {
    if (!m) {
      const compiled = new WebAssembly.Module(Buffer.from(base64, 'base64'));
      const inst = new WebAssembly.Instance(compiled, { env: { abort: () => { throw new Error(`${what} kernel aborted`); } } });
      m = new KernelModule(inst.exports as unknown as E);
    }
    return m;
  };
}
