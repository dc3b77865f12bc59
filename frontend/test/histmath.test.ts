// The numbers of the Histograms, Distributions and PR curves tabs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { valueTicks } from '../src/format';
import { BASIS, Hist, basisLabel, histRange, niceTicks, percentiles, rebin } from '../src/histmath';
import { prPoints } from '../src/prpoints';
import { readNumber } from './parse';

const hist = (buckets: [number, number, number][]): Hist => ({ step: 0, wall: 0, buckets });

describe('histogram x axis', () => {
  test('ticks are nice, inside the range, few enough, and their labels read back in order', () => {
    const ranges: [number, number][] = [[0, 1], [-1, 1], [1000, 1000.4], [1e-12, 5e-12], [-3e18, 1e18], [0.999, 1.001], [-7.3, -2.1]];
    for (let e = -12; e <= 18; e++) ranges.push([Math.pow(10, e), 3.7 * Math.pow(10, e)], [-Math.pow(10, e), 0]);
    for (const [lo, hi] of ranges) {
      for (const max of [2, 5, 8]) {
        const { ticks, incr } = niceTicks(lo, hi, max);
        assert.ok(ticks.length >= 1 && ticks.length <= max, `${lo}..${hi} max ${max}: ${ticks.length} ticks`);
        const labels = valueTicks(ticks, incr);
        let prev = -Infinity;
        ticks.forEach((t, i) => {
          assert.ok(t >= lo - 1e-9 * Math.abs(incr) && t <= hi + 1e-9 * Math.abs(incr), `tick ${t} outside ${lo}..${hi}`);
          const k = t / incr;
          assert.ok(Math.abs(k - Math.round(k)) < 1e-6, `tick ${t} not a multiple of ${incr}`);
          const r = readNumber(labels[i]);
          assert.ok(Math.abs(r.value - t) <= r.unit / 2 + 1e-12 * Math.abs(t), `label ${labels[i]} for ${t}`);
          assert.ok(r.value > prev, `labels ${labels.join(' ')} not increasing`);
          prev = r.value;
        });
      }
    }
  });
  test('a narrow range no longer labels every tick alike', () => {
    // before: 5 labels at lo + k (hi - lo) / 4 to 3 digits, all "1000"
    const { ticks, incr } = niceTicks(1000, 1000.4, 5);
    const labels = valueTicks(ticks, incr);
    assert.equal(new Set(labels).size, labels.length, labels.join(' '));
    assert.deepEqual(labels, ['1,000.0', '1,000.1', '1,000.2', '1,000.3', '1,000.4']);
  });
  test('an empty or reversed range has no ticks', () => {
    assert.deepEqual(niceTicks(1, 1, 5).ticks, []);
    assert.deepEqual(niceTicks(2, 1, 5).ticks, []);
    assert.deepEqual(niceTicks(NaN, 1, 5).ticks, []);
  });
});

describe('histRange and rebin', () => {
  test('one value widens to a range that exists at every magnitude', () => {
    for (const v of [0, 1, -1, 1e-12, 1e9, 1e18, -1e18]) {
      const [lo, hi] = histRange([hist([[v, v, 3]])]);
      assert.ok(lo < v && v < hi, `${v}: [${lo}, ${hi}]`);
      const bins = rebin(hist([[v, v, 3]]), lo, hi, 30);
      assert.equal(bins.reduce((a, b) => a + b, 0), 3, `${v}: counts ${bins}`);
    }
  });
  test('rebin keeps the total count', () => {
    const h = hist([[-1, 0, 4], [0, 0.5, 6], [0.5, 3, 10], [NaN, 1, 5], [2, 2, 1]]);
    const [lo, hi] = histRange([h]);
    assert.deepEqual([lo, hi], [-1, 3]);
    const total = rebin(h, lo, hi, 30).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 21) < 1e-9, String(total));
  });
  test('empty buckets give the unit range', () => {
    assert.deepEqual(histRange([hist([[0, 1, 0]])]), [0, 1]);
  });
});

describe('distribution bands', () => {
  test('label their basis points as percentiles', () => {
    assert.deepEqual(BASIS.map(basisLabel), ['0%', '6.68%', '15.87%', '30.85%', '50%', '69.15%', '84.13%', '93.32%', '100%']);
  });
  test('percentiles interpolate inside buckets', () => {
    const p = percentiles([[0, 10, 100]]);
    BASIS.forEach((bp, i) => assert.ok(Math.abs(p[i] - bp / 1000) < 1e-12, `${bp}: ${p[i]}`));
    assert.ok(percentiles([]).every(Number.isNaN));
    const q = percentiles([[-1e-12, 0, 1], [0, 1e-12, 1]]);
    assert.equal(q[4], 0);
  });
});

describe('PR curve points', () => {
  test('carry their thresholds, sorted by recall', () => {
    const pts = prPoints({ recall: [1, 0.5, 0], precision: [0.5, 0.8, 1], thresholds: [0, 0.5, 'NaN'] });
    assert.deepEqual(pts.map((p) => [p.recall, p.precision, p.threshold]), [[0, 1, 1], [0.5, 0.8, 0.5], [1, 0.5, 0]]);
  });
  test('without thresholds, the i-th of n has i / (n - 1)', () => {
    const pts = prPoints({ recall: [1, 0.75, 0.5, 0.25, 0], precision: [0.2, 0.4, 0.6, 0.8, 1] });
    assert.deepEqual(pts.map((p) => p.threshold), [1, 0.75, 0.5, 0.25, 0]);
    assert.deepEqual(prPoints({ recall: [0.5], precision: [0.5] }).map((p) => p.threshold), [0]);
  });
  test('drops points with a non-finite precision or recall', () => {
    const pts = prPoints({ recall: [1, 'NaN', 0], precision: [0.5, 0.7, 'Infinity'], thresholds: [0, 0.5, 1] });
    assert.deepEqual(pts.map((p) => p.threshold), [0]);
  });
});
