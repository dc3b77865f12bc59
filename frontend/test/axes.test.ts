// The log axis layout of src/axes.ts (the rest of the axes is measured
// in the browser tests: it needs a canvas).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logShown, logSplits } from '../src/axes';
import { logTicks } from '../src/format';

describe('log axis', () => {
  test('splits are exact 1..9 × 10^k inside the range, even when it does not start at a power of 10', () => {
    const s = logSplits(1.99526234e-8, 5.01187234e7);
    assert.equal(s[0], 2e-8);
    assert.equal(s[s.length - 1], 5e7);
    for (const v of s) assert.match(String(v), /^[1-9](e[-+]?\d+|0*|\.0*\d?)?$|^0\.0*[1-9]$/, String(v));
    assert.ok(s.includes(1e-7) && s.includes(1) && s.includes(1e7));
    for (let i = 1; i < s.length; i++) assert.ok(s[i] > s[i - 1]);
    assert.deepEqual(logSplits(0, 10), []);
    assert.deepEqual(logSplits(5, 5), []);
  });
  test('labels are LOG_GAP (20 px) apart, decades first', () => {
    const s = logSplits(1e-12, 1e18);
    for (const perDecade of [2, 5, 11, 19, 40, 61, 110, 400]) {
      const shown = logShown(s, perDecade).filter((v): v is number => v != null);
      assert.ok(shown.length >= 2, `${perDecade} px a decade: ${shown}`);
      for (let i = 1; i < shown.length; i++) {
        const gap = perDecade * Math.log10(shown[i] / shown[i - 1]);
        assert.ok(gap >= 20 - 1e-9, `${perDecade} px a decade: ${shown[i - 1]} and ${shown[i]} ${gap} px apart`);
      }
      if (perDecade < 60) for (const v of shown) assert.match(logTicks([v])[0], /^1(e-?\d+|(,?0)*)$|^0\.0*1$/, `${perDecade}: ${v}`);
    }
    assert.deepEqual(logShown([1, 2, 3, 5, 10, 20, 30, 50, 100], 100), [1, 2, null, 5, 10, 20, null, 50, 100]);
  });
});
