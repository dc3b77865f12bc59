// TensorBoard's scalar smoothing (tfevents-format.md §10): a debiased
// exponential moving average. Non-finite values pass through and do not
// enter the average; a series whose finite values are all equal is left
// as it is.

export function smooth(values: ArrayLike<number>, weight: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  let first = NaN;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (Number.isNaN(first)) first = v;
    else if (v !== first) { constant = false; break; }
  }
  if (constant || !(weight > 0)) {
    for (let i = 0; i < n; i++) out[i] = values[i];
    return out;
  }
  const w = Math.min(weight, 0.999999);
  let last = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) { out[i] = v; continue; }
    last = last * w + (1 - w) * v;
    k++;
    const debias = 1 - Math.pow(w, k);
    out[i] = last / debias;
  }
  return out;
}
