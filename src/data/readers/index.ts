/**
 * Behavior-log readers: format detection, streaming byte-level parsing (.gz too), bad-row
 * accounting, and the read options (the CLI's reader flags are in src/cli/flags/read.ts).
 */
export {
  parseColumnsSpec, parseBehaviorsSpec, parseMaxBadRows,
  DEFAULT_MAX_BAD_ROWS, DEFAULT_YEAR,
  type ReadOptions, type ColumnMapping, type GenericTimeFormat,
} from './options.js';
export { readLog, readLogSteps, BAD_REASONS, type ReadReport, type RowSink, type ReadProgress, type BadReason } from './read.js';
export { readEvents } from './log-events.js';
export { resolveSpec } from './detect.js';
export { IdInterner } from './intern.js';
export { R_USER, R_ITEM, R_CATEGORY, R_SELLER, R_BRAND, R_GEOHASH, N_ROLES, ROLE_NAMES, type RowSpec } from './spec.js';
export { BEIJING_OFFSET_SEC } from './taobao2017.js';
