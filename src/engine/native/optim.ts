import type { OptimKernels } from '../optim.js';
import type { EngineAddon } from './addon.js';

/** The addon's fused optimizer kernels behind the OptimKernels interface of src/engine/optim.ts. */
export function nativeOptim(a: EngineAddon): OptimKernels {
  return {
    backend: 'addon',
    adamDense: (p, g, m, v, h) => a.adamDense(p, g, m, v, h.lr, h.beta1, h.beta2, h.eps, h.step),
    lazyAdamRows: (table, m, v, dim, rows, rowGrad, h) => a.lazyAdamRows(table, m, v, dim, rows, rowGrad, h.lr, h.beta1, h.beta2, h.eps, h.step),
    adagradRows: (table, acc, dim, rows, rowGrad, h) => a.adagradRows(table, acc, dim, rows, rowGrad, h.lr, h.eps),
  };
}
