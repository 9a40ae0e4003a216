/** Public entry of the LLaVA-KD loss functions (CE, MDist, RDist, their combination). */
export { DIVERGENCES, DIVERGENCE_FORMULAS, DIVERGENCE_LEGEND, rowDivergence } from './divergence';
export {
  RDIST_EPS, kdLoss, kdLossRows, maskedCrossEntropy, mdistResponse, mdistVisual, rdist, relationMatrix,
} from './kd';
export type { KdLossInputs, KdLossTerms, KdRowInputs, MdistOptions } from './kd';
export { maskedMean, stopGradient } from './helpers';
