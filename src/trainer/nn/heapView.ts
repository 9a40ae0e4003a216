/**
 * Zero-copy reads of tensor values on the wasm backend: a Float32Array view onto the tfjs wasm
 * heap where the tensor lives, instead of dataSync()'s fresh copy (which allocates, and costed
 * the fused attention op a third of its time at the default sizes). A view is valid only until
 * the next tfjs allocation (the heap may grow and detach it): copy out of it at once.
 * Imports tfjs only.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The float32 values of `t`, as a view onto the wasm heap (wasm backend) or dataSync()'s copy
 * (other backends). Read it before the next tfjs op.
 */
export function readView(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readView: expected a float32 tensor, got ${t.dtype}`);
  if (tf.getBackend() !== 'wasm') return t.dataSync() as Float32Array;
  return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
}

/** Whether a gradient tape is recording (inside tf.grad / tf.variableGrads): ops may skip what only a backward pass needs. */
export function tapeRecording(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
