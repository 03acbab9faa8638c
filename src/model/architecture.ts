import type { Heads } from './losses.js';
import type { Inputs } from './inputs.js';
import type { ForwardHooks } from './detach.js';
import type { LayoutBuilder, ParamView } from './params.js';

// the detach sites and test hooks live in detach.ts (losses.ts uses them too)
export { detach, DETACH_SITES, type DetachSite, type ForwardHooks } from './detach.js';

/** A network: its parameters and its forward pass to logit heads (losses are shared, losses.ts). */
export interface Architecture {
  declare(b: LayoutBuilder): void;
  forward(p: ParamView, x: Inputs, hooks: ForwardHooks): Heads;
}
