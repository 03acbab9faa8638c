/**
 * The engine names (DESIGN.md "Compute engines"), in a module of their own so that flag parsing and
 * configs can name engines without loading tfjs (src/engine/index.ts does).
 */
export type EngineName = 'native' | 'cpu' | 'tensorflow' | 'cuda' | 'auto';
export const ENGINE_NAMES: readonly EngineName[] = ['native', 'cpu', 'tensorflow', 'cuda', 'auto'];
