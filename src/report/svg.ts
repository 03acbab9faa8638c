/**
 * Minimal static SVG charts (no library, no network): line charts and a reliability diagram, as
 * strings to inline in a self-contained HTML page. Every point is also an element carrying its
 * values (data-x/data-y), so a test or a browser can check what is drawn.
 */
export interface Series { name: string; points: Array<[number, number]> }

const W = 520, H = 300, L = 56, R = 16, T = 24, B = 40;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function extent(vals: number[], pad = 0): [number, number] {
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

function ticks([lo, hi]: [number, number], n = 5): number[] {
  const step = (hi - lo) / n;
  return Array.from({ length: n + 1 }, (_, i) => lo + i * step);
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(1) : +v.toPrecision(3) + '';
}

function frame(title: string, xl: string, yl: string, xs: [number, number], ys: [number, number], sx: (v: number) => number, sy: (v: number) => number, ylabel: (v: number) => string = fmt): string {
  const parts = [`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(xl)}</text>`,
    `<text x="12" y="${H / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${H / 2})">${esc(yl)}</text>`];
  for (const v of ticks(xs)) parts.push(`<text x="${sx(v).toFixed(1)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
  for (const v of ticks(ys)) parts.push(`<text x="${L - 4}" y="${(sy(v) + 3).toFixed(1)}" text-anchor="end" font-size="10">${ylabel(v)}</text>`,
    `<line x1="${L}" x2="${W - R}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#eee"/>`);
  return parts.join('');
}

/** A line chart of several series over a shared x axis; `log` draws y on a log10 scale. */
export function lineChart(title: string, xl: string, yl: string, series: Series[], opts: { log?: boolean } = {}): string {
  const f = opts.log ? (v: number) => Math.log10(Math.max(v, 1e-12)) : (v: number) => v;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = extent(all.map(([x]) => x)), ys = extent(all.map(([, y]) => f(y)), 0.05);
  const sx = (v: number) => L + ((v - xs[0]) / (xs[1] - xs[0])) * (W - L - R);
  const sy = (v: number) => H - B - ((v - ys[0]) / (ys[1] - ys[0])) * (H - T - B);
  // on a log axis the ticks are labelled with the values, not their logarithms
  const body = [frame(title, xl, opts.log ? `${yl} (log scale)` : yl, xs, ys, sx, sy, opts.log ? (v) => fmt(10 ** v) : fmt)];
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    body.push(`<polyline class="series" data-name="${esc(s.name)}" fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(f(y)).toFixed(1)}`).join(' ')}"/>`);
    if (pts.length <= 60) for (const [x, y] of pts) body.push(`<circle class="pt" data-series="${esc(s.name)}" data-x="${x}" data-y="${y}" cx="${sx(x).toFixed(1)}" cy="${sy(f(y)).toFixed(1)}" r="2.5" fill="${c}"/>`);
    body.push(`<text x="${W - R - 4}" y="${T + 14 + 13 * i}" text-anchor="end" font-size="11" fill="${c}">${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${body.join('')}</svg>`;
}

export interface ReliabilityBin { lo: number; hi: number; n: number; meanPred: number; meanLabel: number }

/** Reliability diagram: mean label against mean prediction per bin, the diagonal is perfect calibration. */
export function reliabilityChart(title: string, bins: ReliabilityBin[]): string {
  const used = bins.filter((b) => b.n > 0);
  const hi = Math.max(0.05, ...used.map((b) => Math.max(b.meanPred, b.meanLabel))) * 1.05;
  const span: [number, number] = [0, Math.min(1, hi)];
  const sx = (v: number) => L + (v / span[1]) * (W - L - R);
  const sy = (v: number) => H - B - (v / span[1]) * (H - T - B);
  const body = [frame(title, 'mean prediction in bin', 'observed rate', span, span, sx, sy),
    `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(span[1]).toFixed(1)}" y2="${sy(span[1]).toFixed(1)}" stroke="#aaa" stroke-dasharray="4 3"/>`];
  body.push(`<polyline fill="none" stroke="${COLORS[0]}" stroke-width="1.5" points="${used.map((b) => `${sx(b.meanPred).toFixed(1)},${sy(b.meanLabel).toFixed(1)}`).join(' ')}"/>`);
  const maxN = Math.max(1, ...used.map((b) => b.n));
  for (const b of used) {
    body.push(`<circle class="pt" data-n="${b.n}" data-x="${b.meanPred}" data-y="${b.meanLabel}" cx="${sx(b.meanPred).toFixed(1)}" cy="${sy(b.meanLabel).toFixed(1)}" r="${(2 + 5 * Math.sqrt(b.n / maxN)).toFixed(1)}" fill="${COLORS[0]}" fill-opacity="0.6"><title>${b.n} samples: predicted ${fmt(b.meanPred)}, observed ${fmt(b.meanLabel)}</title></circle>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${body.join('')}</svg>`;
}

/** Equal-count bins of predictions (quantiles, so sparse high probabilities still get points). */
export function reliabilityBins(pred: Float32Array, label: Float32Array, mask: (i: number) => boolean, nBins = 10): ReliabilityBin[] {
  const idx: number[] = [];
  for (let i = 0; i < pred.length; i++) if (mask(i) && Number.isFinite(pred[i])) idx.push(i);
  idx.sort((a, b) => pred[a] - pred[b]);
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < nBins; b++) {
    const s = Math.floor((b * idx.length) / nBins), e = Math.floor(((b + 1) * idx.length) / nBins);
    if (e <= s) continue;
    let sp = 0, sl = 0;
    for (let k = s; k < e; k++) { sp += pred[idx[k]]; sl += label[idx[k]]; }
    bins.push({ lo: pred[idx[s]], hi: pred[idx[e - 1]], n: e - s, meanPred: sp / (e - s), meanLabel: sl / (e - s) });
  }
  return bins;
}
