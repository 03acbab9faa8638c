/**
 * "Did you mean": the closest candidate to a misspelt word (a command, a flag, a model name), or
 * undefined when none is close. Closeness is the optimal-string-alignment distance (edits and
 * adjacent swaps), at most a third of the word's length (at least 1), so `trian` finds `train`
 * and `gpt` finds nothing.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return bestD <= limit ? best : undefined;
}

/** ' (did you mean X?)' or ''. */
export function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${prefix}${c}?)`;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (__, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
