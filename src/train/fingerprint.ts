import { createHash } from 'node:crypto';
import type { Schema } from '../data/batch.js';

function stable(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stable).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stable((v as Record<string, unknown>)[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

/**
 * A short hash of everything in a schema that gives table rows and columns their meaning: a model
 * trained on one dataset must not silently load against another whose rows mean something else.
 */
export function schemaFingerprint(schema: Schema): string {
  return createHash('sha256').update(stable(schema)).digest('hex').slice(0, 16);
}
