/**
 * The four loss terms of {@link kdLossRows} (CE, L_res, L_vis, L_rel) for the forward-KL
 * divergence (the paper's and the default), as ONE differentiable op over the student's logits
 * at the loss rows. The composed tfjs version is ~240 kernel launches a step and cost ~5 ms of a
 * ~18 ms cached DFT step at the default sizes; here CE, the KL rows and RDist's Gram matrices run
 * in the SIMD row-loss kernels (kernels/rowLosses.ts: f32 lanes within a row, f64 totals), their
 * gradients computed in the same pass, ~0.7 ms forward and backward (plain JS loops took ~4 ms,
 * mostly Math.exp). Same formulas as kd.ts; the tests compare the two, and both with a float64
 * reference. Imports tfjs, nn/heapView, nn/kernelModule and its generated kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { readView } from '../nn/heapView';
import { lazyKernelModule, type KernelExports } from '../nn/kernelModule';
import { ROW_LOSSES_WASM_BASE64 } from './rowLossesWasm.generated';

/** Index of each term in the op's output vector. */
export const FUSED_TERMS = ['ce', 'res', 'vis', 'rel'] as const;

export interface FusedRowInputs {
  /** [Nt, V] student logits at the response rows. */
  sRes: tf.Tensor2D;
  /** [Nt] int32 the token each response row predicts. */
  targets: tf.Tensor1D;
  /** [Nt, V] teacher logits at the same rows (constant); absent: CE only. */
  tRes?: tf.Tensor2D;
  /** [Bi, Np, V] student logits at the visual rows; absent without images. */
  sVis?: tf.Tensor3D;
  /** [Bi, Np, V] teacher logits there (constant). */
  tVis?: tf.Tensor3D;
  /** [Bi, Np, Np] the teacher's relation matrices when known (top-k cache); else from tVis. */
  tRel?: tf.Tensor3D;
  temperature: number;
  /** Factor on each raw term (a shard's share of the batch means). */
  scale: Record<(typeof FUSED_TERMS)[number], number>;
  /** Added under the rsqrt of the relation matrices' squared norms (RDIST_EPS). */
  relEps: number;
}

interface RowLossKernels extends KernelExports {
  klRows(s: number, t: number, rows: number, V: number, invT: number, g: number, gScale: number, p: number, q: number): number;
  ceRows(s: number, targets: number, rows: number, V: number, g: number, gScale: number, q: number): number;
  relRows(zs: number, zt: number, rel: number, Bi: number, Np: number, V: number, eps: number, g: number, gScale: number, rs: number, rt: number, G: number): number;
}

const rowKernels = lazyKernelModule<RowLossKernels>(ROW_LOSSES_WASM_BASE64, 'row-loss');

/**
 * Mean CE of the response rows, mean forward KL of the response and the visual rows and mean
 * RDist over the images, with their gradients (already divided by the counts), in the row-loss
 * kernels. The logits are copied straight from tfjs' heap into the module's memory (no tfjs op
 * runs in between, so the views stay valid).
 */
function rowTerms(x: FusedRowInputs, sRes: tf.Tensor, sVis: tf.Tensor | null, targets: Int32Array) {
  const [Nt, V] = x.sRes.shape;
  const [Bi, Np] = sVis ? x.sVis!.shape : [0, 0];
  const T = x.temperature;
  const km = rowKernels();
  const Nv = Bi * Np;
  const nr = Nt * V;
  const nv = Nv * V;
  const nn = Np * Np;
  // (the f64 scratch of relRows: 2 × 4-byte elements each)
  const [aS, aT, aGc, aGr, aY, aSv, aTv, aGv, aGl, aRel, aP, aQ, aRs, aRt, aG] = km.layout([nr, nr, nr, nr, Nt, nv, nv, nv, nv, Bi * nn, V, V, 2 * nn, 2 * nn, 2 * nn]);
  km.f32(aS, nr).set(readView(sRes));
  km.i32(aY, Nt).set(targets);
  const ce = km.k.ceRows(aS, aY, Nt, V, aGc, 1 / Math.max(Nt, 1), aQ) / Math.max(Nt, 1);
  let res = 0;
  if (x.tRes) {
    km.f32(aT, nr).set(readView(x.tRes));
    res = km.k.klRows(aS, aT, Nt, V, 1 / T, aGr, 1 / Math.max(Nt, 1), aP, aQ) / Math.max(Nt, 1);
  }
  let vis = 0;
  let rel = 0;
  if (sVis) {
    km.f32(aSv, nv).set(readView(sVis));
    km.f32(aTv, nv).set(readView(x.tVis!));
    vis = km.k.klRows(aSv, aTv, Nv, V, 1 / T, aGv, 1 / Math.max(Nv, 1), aP, aQ) / Math.max(Nv, 1);
    if (x.tRel) km.f32(aRel, Bi * nn).set(readView(x.tRel));
    rel = km.k.relRows(aSv, aTv, x.tRel ? aRel : 0, Bi, Np, V, x.relEps, aGl, 1 / Math.max(Bi, 1), aRs, aRt, aG) / Math.max(Bi, 1);
  }
  return {
    ce, res, vis, rel,
    gCe: km.f32(aGc, nr).slice(),
    gRes: x.tRes ? km.f32(aGr, nr).slice() : null,
    gVis: sVis ? km.f32(aGv, nv).slice() : new Float32Array(0),
    gRel: sVis ? km.f32(aGl, nv).slice() : new Float32Array(0),
  };
}

/**
 * The scaled raw terms [ce, res, vis, rel] (0 for a term without its inputs) as a [4] tensor
 * differentiable in sRes and sVis. Forward KL at temperature T, no T² factor, as rowDivergence.
 */
export function fusedRowTerms(x: FusedRowInputs): tf.Tensor1D {
  const [Nt, V] = x.sRes.shape;
  const hasVis = x.sVis !== undefined && x.tVis !== undefined;
  const [Bi, Np] = hasVis ? x.sVis!.shape : [0, 0];
  const targets = x.targets.dataSync() as Int32Array;
  const sc = x.scale;
  const inputs: tf.Tensor[] = hasVis ? [x.sRes, x.sVis!] : [x.sRes];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { gCe, gRes, gVis, gRel, ...r } = rowTerms(x, args[0] as tf.Tensor, hasVis ? (args[1] as tf.Tensor) : null, targets);
    const out = [r.ce * sc.ce, r.res * sc.res, r.vis * sc.vis, r.rel * sc.rel];
    return {
      value: tf.tensor1d(out),
      gradFunc: (dy: tf.Tensor) => {
        const w = dy.dataSync();
        const dRes = new Float32Array(Nt * V);
        const a = w[0] * sc.ce;
        const b = w[1] * sc.res;
        for (let e = 0; e < dRes.length; e++) dRes[e] = a * gCe[e] + (gRes ? b * gRes[e] : 0);
        const grads: tf.Tensor[] = [tf.tensor2d(dRes, [Nt, V])];
        if (hasVis) {
          const dVis = new Float32Array(Bi * Np * V);
          const c = w[2] * sc.vis;
          const d = w[3] * sc.rel;
          for (let e = 0; e < dVis.length; e++) dVis[e] = c * gVis[e] + d * gRel[e];
          grads.push(tf.tensor3d(dVis, [Bi, Np, V]));
        }
        return grads;
      },
    };
  }) as unknown as (...t: tf.Tensor[]) => tf.Tensor1D;
  return f(...inputs);
}
