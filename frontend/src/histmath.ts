// The numbers of the Histograms and Distributions tabs, apart from the
// DOM: rebinning, the value range, tick values, and the percentiles of
// the distribution bands.
import { decimalsOf } from './format';

export type Hist = { step: number; wall: number; buckets: [number, number, number][] };

/** rebin spreads each bucket's count uniformly over bins equal bins from lo to hi. */
export function rebin(h: Hist, lo: number, hi: number, bins: number): Float64Array {
  const out = new Float64Array(bins);
  const w = (hi - lo) / bins;
  for (const [l, r, c] of h.buckets) {
    if (!(c > 0) || !Number.isFinite(l) || !Number.isFinite(r)) continue;
    if (r <= l) {
      const i = Math.min(bins - 1, Math.max(0, Math.floor((l - lo) / w)));
      out[i] += c;
      continue;
    }
    const i0 = Math.max(0, Math.floor((l - lo) / w)), i1 = Math.min(bins - 1, Math.floor((r - lo) / w));
    for (let i = i0; i <= i1; i++) {
      const a = Math.max(l, lo + i * w), b = Math.min(r, lo + (i + 1) * w);
      if (b > a) out[i] += (c * (b - a)) / (r - l);
    }
  }
  return out;
}

/** histRange: the finite range of the non-empty buckets ([0, 1] when
 * none; one value v widens to v ± 0.5, or ± half its size when large). */
export function histRange(items: Hist[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const h of items) for (const [l, r, c] of h.buckets) {
    if (!(c > 0)) continue;
    if (Number.isFinite(l)) { lo = Math.min(lo, l); hi = Math.max(hi, l); }
    if (Number.isFinite(r)) { hi = Math.max(hi, r); lo = Math.min(lo, r); }
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const p = Math.max(0.5, Math.abs(lo) * 1e-6);
    return [lo - p, hi + p];
  }
  return [lo, hi];
}

/** niceTicks: at most max ticks inside [lo, hi], multiples of a spacing
 * of 1, 2, 2.5 or 5 × 10^k (the fewest that still gives 2 ticks when it
 * can), with that spacing. */
export function niceTicks(lo: number, hi: number, max: number): { ticks: number[]; incr: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo) || max < 1) return { ticks: [], incr: 0 };
  const span = hi - lo;
  let e = Math.floor(Math.log10(span / Math.max(1, max)));
  for (let tries = 0; tries < 8; tries++, e++) {
    for (const m of [1, 2, 2.5, 5]) {
      const incr = m * Math.pow(10, e);
      const k0 = Math.ceil(lo / incr - 1e-9), k1 = Math.floor(hi / incr + 1e-9);
      if (k1 - k0 + 1 <= max) {
        const d = decimalsOf(incr);
        const ticks: number[] = [];
        for (let k = k0; k <= k1; k++) {
          const v = d < 15 ? Math.round(k * incr * Math.pow(10, d)) / Math.pow(10, d) : k * incr;
          ticks.push(Object.is(v, -0) ? 0 : v);
        }
        return { ticks, incr };
      }
    }
  }
  return { ticks: [lo, hi], incr: span };
}

/** BASIS: the basis points of the distribution bands (TensorBoard's:
 * the normal CDF at 0, ±0.5, ±1, ±1.5 and ±∞ standard deviations). */
export const BASIS = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

/** basisLabel writes a basis point as a percentile: 668 → "6.68%", 5000 → "50%". */
export function basisLabel(bp: number): string {
  return String(bp / 100) + '%';
}

/** percentiles: the value at each basis point, interpolating inside buckets. */
export function percentiles(buckets: [number, number, number][]): number[] {
  const bs = buckets.filter((b) => b[2] > 0);
  let total = 0;
  for (const b of bs) total += b[2];
  if (!bs.length || total <= 0) return BASIS.map(() => NaN);
  return BASIS.map((bp) => {
    if (bp === 0) return bs[0][0];
    if (bp === 10000) return bs[bs.length - 1][1];
    const target = (total * bp) / 10000;
    let cum = 0;
    for (const [l, r, c] of bs) {
      if (cum + c >= target) return l + ((r - l) * (target - cum)) / c;
      cum += c;
    }
    return bs[bs.length - 1][1];
  });
}
