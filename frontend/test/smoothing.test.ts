// TensorBoard's smoothing: a debiased exponential moving average.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { smooth } from '../src/smoothing';

const close = (a: ArrayLike<number>, b: number[], what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]), `${what}[${i}] = ${a[i]}, want NaN`);
    else if (!Number.isFinite(b[i])) assert.equal(a[i], b[i], `${what}[${i}]`);
    else assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * Math.max(1, Math.abs(b[i])), `${what}[${i}] = ${a[i]}, want ${b[i]}`);
  }
};

describe('smooth', () => {
  const cases: { name: string; values: number[]; weight: number; want: number[] }[] = [
    { name: 'weight 0 leaves values', values: [1, 5, 2], weight: 0, want: [1, 5, 2] },
    { name: 'negative weight leaves values', values: [1, 5, 2], weight: -1, want: [1, 5, 2] },
    { name: 'NaN weight leaves values', values: [1, 5, 2], weight: NaN, want: [1, 5, 2] },
    { name: 'debiased: the first value is itself', values: [1, 2, 3], weight: 0.5, want: [1, 1.25 / 0.75, 2.125 / 0.875] },
    { name: 'a constant series stays', values: [3, 3, 3, 3], weight: 0.9, want: [3, 3, 3, 3] },
    { name: 'a constant series with a NaN stays', values: [3, NaN, 3], weight: 0.9, want: [3, NaN, 3] },
    { name: 'non-finite values pass through and do not enter', values: [1, NaN, Infinity, 3, -Infinity], weight: 0.5, want: [1, NaN, Infinity, (0.25 + 1.5) / 0.75, -Infinity] },
    { name: 'empty', values: [], weight: 0.6, want: [] },
    { name: 'tiny values', values: [1e-12, 3e-12], weight: 0.5, want: [1e-12, (0.25e-12 + 1.5e-12) / 0.75] },
    { name: 'huge values', values: [1e18, 3e18], weight: 0.5, want: [1e18, (0.25e18 + 1.5e18) / 0.75] },
  ];
  for (const c of cases) test(c.name, () => close(smooth(c.values, c.weight), c.want, c.name));

  test('weight 1 is clamped: the line still moves', () => {
    const out = smooth([0, 10, 10, 10], 1);
    for (const v of out) assert.ok(Number.isFinite(v));
    assert.ok(out[3] > 0 && out[3] <= 10);
  });
  test('stays inside the range of the finite values so far', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const values = Array.from({ length: 500 }, (_, i) => (i % 37 === 0 ? NaN : Math.exp(-i / 100) + rnd() - 0.5));
    for (const w of [0.1, 0.6, 0.99, 0.999]) {
      const out = smooth(values, w);
      let lo = Infinity, hi = -Infinity;
      values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        lo = Math.min(lo, v); hi = Math.max(hi, v);
        assert.ok(out[i] >= lo - 1e-12 && out[i] <= hi + 1e-12, `w=${w} [${i}] ${out[i]} outside [${lo}, ${hi}]`);
      });
    }
  });
});
