// The points of a PR curve, apart from the DOM.
import { num } from './format';

export interface PRPoint { recall: number; precision: number; threshold: number; tp: number; fp: number }

/**
 * prPoints returns a PR item's points with finite precision and recall,
 * by recall then threshold. A point's threshold is the item's (JSON
 * numbers or "NaN"/"Infinity"); without thresholds, the i-th of n points
 * has TensorBoard's i / (n - 1) (0 for a single point).
 */
export function prPoints(it: { precision?: (number | string)[]; recall?: (number | string)[]; thresholds?: (number | string)[]; tp?: (number | string)[]; fp?: (number | string)[] }): PRPoint[] {
  const rec = (it.recall ?? []).map(num), prec = (it.precision ?? []).map(num);
  const n = Math.min(rec.length, prec.length);
  const thr = it.thresholds && it.thresholds.length === n ? it.thresholds.map(num) : null;
  const out: PRPoint[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(rec[i]) || !Number.isFinite(prec[i])) continue;
    const t = thr && Number.isFinite(thr[i]) ? thr[i] : n > 1 ? i / (n - 1) : 0;
    out.push({ recall: rec[i], precision: prec[i], threshold: t, tp: num(it.tp?.[i]), fp: num(it.fp?.[i]) });
  }
  out.sort((a, b) => a.recall - b.recall || a.threshold - b.threshold);
  return out;
}
