import { CmdcmError } from './errors.js';

/**
 * Keys that name Object.prototype members (`__proto__`, `constructor`, `hasOwnProperty`, …): a
 * JSON file holding one as a key would reach a prototype through a plain `obj[key]` lookup, so every
 * config cmdcm reads is refused with them before any lookup.
 */
export function refusePrototypeKeys(v: unknown, where: string, depth = 0): void {
  if (depth > 8 || typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    for (const x of v) refusePrototypeKeys(x, where, depth + 1);
    return;
  }
  for (const k of Object.keys(v)) {
    if (k in Object.prototype) throw new CmdcmError(`${where}: the key "${k}" is not allowed (it names a JavaScript object member)`);
    refusePrototypeKeys((v as Record<string, unknown>)[k], where, depth + 1);
  }
}

/** A value's kind for messages: `null`, `array`, `string "abc"`, `number 1.5`. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInt = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
