/**
 * The layer rules of HACKING.md "Layers", checked on the import graph of src/**\/*.ts: a module may
 * import its own layer and the layers below it, never a higher one; src/model has no import cycle.
 *
 * Edges: static imports and re-exports (type-only ones too: a type names a dependency just as well),
 * `import('…')` with a literal specifier, and `new URL('./x.js', import.meta.url)` (how modules
 * name a worker entry or a module loaded on demand).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Bottom → top. */
export const LAYERS = ['util', 'schema', 'features', 'data', 'engine', 'model', 'train', 'parallel', 'eval', 'workflows', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

/** A file's layer: the first rule whose prefix matches its path under src/ (files before folders). */
const LAYER_OF: [string, Layer][] = [
  ['native.ts', 'util'], // loads the addon; everything native sits on it
  ['util/', 'util'],
  ['data/types.ts', 'schema'], // event/time types every layer shares
  ['data/batch.ts', 'schema'], // Schema, SampleColumns, Batch: the data contract between data, model and train
  ['features/', 'features'],
  ['data/', 'data'],
  ['engine/', 'engine'],
  ['model/', 'model'],
  ['train/run.ts', 'workflows'], // `cmdcm train` and the library's train(); loads src/parallel on demand
  ['train/', 'train'],
  ['parallel/', 'parallel'],
  ['eval/', 'eval'],
  ['report/', 'eval'], // `cmdcm report`: reads runs, scores them with a Predictor (train), draws SVG
  ['workflows/', 'workflows'],
  ['index.ts', 'workflows'], // the library API
  ['cli/', 'cli'],
];

/**
 * Known violations, each `from -> to` (paths under src/). They live in files another change is
 * rewriting (issue 11: src/model, src/eval); remove an entry when its import is gone — the test
 * also fails on an entry that no longer matches anything, so the list cannot go stale.
 */
const ALLOWED: { edge: string; why: string }[] = [];

/** Known import cycles inside src/model, as the sorted list of their files joined by ' ' (see ALLOWED). */
const ALLOWED_MODEL_CYCLES: { cycle: string; why: string }[] = [];

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('layers.test: repository root not found');
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const SRC = join(ROOT, 'src');

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The relative specifiers a file imports (see the header for what counts). */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const lit = (n: ts.Node | undefined) => (n && ts.isStringLiteralLike(n) ? n.text : undefined);
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier) {
      const s = lit(n.moduleSpecifier);
      if (s) out.push(s);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const s = lit(n.arguments[0]);
      if (s) out.push(s);
    } else if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'URL' && n.arguments?.length === 2
      && n.arguments[1].getText(sf) === 'import.meta.url') {
      const s = lit(n.arguments[0]);
      if (s && /\.[cm]?js$/.test(s)) out.push(s);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) {
      const s = lit(n.argument.literal);
      if (s) out.push(s);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out.filter((s) => s.startsWith('.'));
}

/** src-relative path ('engine/index.ts') of a relative specifier, or undefined when it leaves src. */
function target(fromFile: string, spec: string): string | undefined {
  const abs = resolve(dirname(fromFile), spec).replace(/\.js$/, '.ts');
  const rel = relative(SRC, abs);
  if (rel.startsWith('..')) return undefined;
  return rel.split('\\').join('/');
}

export function layerOf(rel: string): Layer {
  for (const [prefix, layer] of LAYER_OF) if (prefix.endsWith('/') ? rel.startsWith(prefix) : rel === prefix) return layer;
  throw new Error(`layers.test: src/${rel} has no layer (add it to LAYER_OF and HACKING.md)`);
}

function graph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of walk(SRC)) {
    const from = relative(SRC, f).split('\\').join('/');
    const to = new Set<string>();
    for (const s of importsOf(f)) {
      const t = target(f, s);
      if (t !== undefined) to.add(t);
    }
    g.set(from, to);
  }
  return g;
}

const G = graph();

test('every src file has a layer and every import resolves to a src file', () => {
  for (const [from, tos] of G) {
    layerOf(from);
    for (const to of tos) assert.ok(G.has(to), `src/${from} imports src/${to}, which does not exist`);
  }
});

test('no import from a lower layer to a higher one', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  for (const [from, tos] of G) {
    const lf = LAYERS.indexOf(layerOf(from));
    for (const to of tos) {
      const lt = LAYERS.indexOf(layerOf(to));
      if (lt <= lf) continue;
      const edge = `${from} -> ${to}`;
      if (ALLOWED.some((a) => a.edge === edge)) seen.add(edge);
      else bad.push(`src/${from} (${LAYERS[lf]}) imports src/${to} (${LAYERS[lt]})`);
    }
  }
  const stale = ALLOWED.filter((a) => !seen.has(a.edge)).map((a) => a.edge);
  assert.deepEqual(bad, [], 'imports that run up the layers (HACKING.md "Layers")');
  assert.deepEqual(stale, [], 'ALLOWED entries that no longer occur: remove them');
});

/** Strongly connected components with more than one file (Tarjan), each as its sorted files. */
function cycles(nodes: string[], edges: (n: string) => string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [], out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges(v).includes(v)) out.push(comp.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return out;
}

test('no import cycle inside src/model', () => {
  const model = [...G.keys()].filter((f) => f.startsWith('model/')).sort();
  const found = cycles(model, (n) => [...(G.get(n) ?? [])].filter((t) => t.startsWith('model/'))).map((c) => c.join(' '));
  const allowed = new Set(ALLOWED_MODEL_CYCLES.map((c) => c.cycle));
  assert.deepEqual(found.filter((c) => !allowed.has(c)), [], 'import cycles in src/model');
  assert.deepEqual(ALLOWED_MODEL_CYCLES.filter((c) => !found.includes(c.cycle)).map((c) => c.cycle), [], 'ALLOWED_MODEL_CYCLES entries that no longer occur: remove them');
});

test('src holds no test-only module or benchmark driver (they live in test/ and bench/)', () => {
  assert.deepEqual([...G.keys()].filter((f) => /(^|\/)(testing|bench)-[^/]*$/.test(f)), []);
});

test('the checker sees every kind of import', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from './b.js';",
    "export { c } from './c.js';",
    "const d = await import('./d.js');",
    "const e = new URL('./e.js', import.meta.url);",
    "let f: import('./f.js').F;",
    "// import g from './g.js';",
    "import h from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf('x.ts', text).sort(), ['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js']);
});
