import * as tf from '@tensorflow/tfjs-core';
import { hostF32 } from '../engine/host.js';
import type { ParamLayout, ParamSpec } from './types.js';
import { boxMuller, mulberry32 } from '../util/rng.js';

/** Deterministic uniform [0, 1) stream (mulberry32): initialisation must not depend on tfjs's RNG. */
export const rng = mulberry32;

/** Collects parameter specs in declaration order; offsets are assigned once at `build()`. */
export class LayoutBuilder {
  private readonly specs: ParamSpec[] = [];
  private readonly names = new Set<string>();

  add(name: string, shape: number[], init: ParamSpec['init']): void {
    if (this.names.has(name)) throw new Error(`duplicate parameter name ${name}`);
    this.names.add(name);
    this.specs.push({ name, shape: [...shape], init });
  }

  build(): ParamLayout {
    const offsets: number[] = [];
    let total = 0;
    for (const s of this.specs) {
      offsets.push(total);
      total += s.shape.reduce((a, b) => a * b, 1);
    }
    return { specs: this.specs, offsets, total };
  }
}

export function specSize(s: ParamSpec): number {
  return s.shape.reduce((a, b) => a * b, 1);
}

export function gaussian(u: () => number): () => number {
  return () => boxMuller(Math.max(u(), 1e-12), u());
}

/** Glorot-uniform weights (fan-in/out from the last two dims), zero biases; seeded. */
export function initParams(layout: ParamLayout, seed: number): Float32Array {
  const out = new Float32Array(layout.total);
  const u = rng(seed);
  const g = gaussian(u);
  layout.specs.forEach((s, i) => {
    const off = layout.offsets[i];
    const n = specSize(s);
    switch (s.init) {
      case 'zeros':
        break;
      case 'ones':
        out.fill(1, off, off + n);
        break;
      case 'normal':
        for (let j = 0; j < n; j++) out[off + j] = 0.01 * g();
        break;
      case 'glorot': {
        const fanIn = s.shape.length >= 2 ? s.shape[s.shape.length - 2] : s.shape[0];
        const fanOut = s.shape[s.shape.length - 1];
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        for (let j = 0; j < n; j++) out[off + j] = (2 * u() - 1) * lim;
        break;
      }
    }
  });
  return out;
}

/**
 * The flat parameter vector seen as one tensor per spec (copies: the flat array may be shared with
 * other workers and change under us; a copy also keeps backends from aliasing host memory).
 */
export class ParamView {
  readonly tensors: tf.Tensor[];
  private readonly index = new Map<string, number>();

  constructor(readonly layout: ParamLayout, params: Float32Array) {
    if (params.length !== layout.total) throw new Error(`parameter vector has ${params.length} values, the model's layout needs ${layout.total}`);
    this.tensors = layout.specs.map((s, i) => {
      this.index.set(s.name, i);
      const off = layout.offsets[i];
      const n = specSize(s);
      const a = hostF32(n);
      a.set(params.subarray(off, off + n));
      return tf.tensor(a, s.shape, 'float32');
    });
  }

  get<T extends tf.Tensor = tf.Tensor2D>(name: string): T {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no parameter ${name}`);
    return this.tensors[i] as T;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }
}
