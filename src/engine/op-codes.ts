/**
 * The element-wise and reduction op codes, one numbering for both engines' kernels:
 * native/engine/elementwise.cc and reduce.cc, and native/cuda/kernels/elementwise.cu and reduce.cu.
 */

/** Unary float32 ops; `attrs` picks the two scalar parameters some ops take. */
export const UNARY_OPS: Record<string, { op: number; attrs?: (a: Record<string, unknown>) => [number, number] }> = {
  Relu: { op: 0 },
  Sigmoid: { op: 1 },
  Exp: { op: 2 },
  Log: { op: 3 },
  Log1p: { op: 4 },
  Softplus: { op: 5 },
  Neg: { op: 6 },
  Square: { op: 7 },
  Sqrt: { op: 8 },
  Rsqrt: { op: 9 },
  Abs: { op: 10 },
  Tanh: { op: 11 },
  Step: { op: 12, attrs: (a) => [Number(a.alpha ?? 0), 0] },
  Reciprocal: { op: 13 },
  Elu: { op: 14 },
  ClipByValue: { op: 15, attrs: (a) => [Number(a.clipValueMin), Number(a.clipValueMax)] },
  LeakyRelu: { op: 16, attrs: (a) => [Number(a.alpha ?? 0.2), 0] },
  Relu6: { op: 17 },
  Expm1: { op: 18 },
};

/** Binary ops with broadcasting; codes from 10 on are comparisons (bool out). */
export const BINARY_OPS: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 7,
  Greater: 10, GreaterEqual: 11, Less: 12, LessEqual: 13, Equal: 14, NotEqual: 15,
};

/** Reductions, with the attribute that names their axes. */
export const REDUCE_OPS: Record<string, { op: number; axisAttr: string }> = {
  Sum: { op: 0, axisAttr: 'axis' },
  Mean: { op: 1, axisAttr: 'axis' },
  Max: { op: 2, axisAttr: 'reductionIndices' },
  Min: { op: 3, axisAttr: 'axis' },
  Prod: { op: 4, axisAttr: 'axis' },
};
