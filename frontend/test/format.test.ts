// The formatters of src/format.ts: tables of exact expectations, and the
// round-trip property: a label read back lies within half its last digit
// of the value it writes, at every magnitude from 1e-12 to 1e18.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  RELATIVE_INCRS, STEP_INCRS, decimalsOf, durationTicks, fmtAgo, fmtBytes, fmtDate, fmtDuration, fmtInt, fmtStep,
  fmtValue, fmtWall, logTicks, num, stepTick, stepTicks, timeTicks, valueTicks,
} from '../src/format';
import { Read, TimeReader, readBytes, readDuration, readNumber } from './parse';

/** within asserts that a label read back is within half its unit of v. */
function within(label: string, r: Read, v: number, what = '') {
  if (Number.isNaN(v)) { assert.ok(Number.isNaN(r.value), `${what} ${label} for NaN`); return; }
  if (!Number.isFinite(v)) { assert.equal(r.value, v, `${what} ${label}`); return; }
  const err = Math.abs(r.value - v);
  const slack = 1e-12 * Math.max(Math.abs(v), r.unit);
  assert.ok(err <= r.unit / 2 + slack, `${what}: ${label} reads ${r.value}, ${err} from ${v} (unit ${r.unit})`);
}

/** magnitudes: values from 1e-12 to 1e18, both signs, with awkward mantissas. */
function magnitudes(): number[] {
  const out = [0, -0];
  for (let e = -12; e <= 18; e++) {
    for (const m of [1, 1.5, 2.5, 3.14159265358979, 9.99999, 9.9999999, 1.234567891, 6, 7.0000001]) {
      const v = Number((m * Math.pow(10, e)).toPrecision(15));
      out.push(v, -v);
    }
  }
  out.push(100000, 600000, 1e6, 1e9, 1e12, 1e15, 1e18, 0.1 + 0.2, 1 / 3, 2 / 3, 999999.9999999, 0.00009999999, 2 ** 53, 2 ** 53 + 2);
  return out;
}

describe('fmtValue', () => {
  test('writes known values', () => {
    const cases: [number, string][] = [
      [0, '0'], [-0, '0'], [1, '1'], [-1, '-1'], [100000, '100,000'], [600000, '600,000'], [1e6, '1,000,000'], [654321, '654,321'],
      [0.1 + 0.2, '0.3'], [1 / 3, '0.333333'], [-2 / 3, '-0.666667'], [123456.7, '123,456.7'], [0.0001, '0.0001'], [0.00009, '9e-5'],
      [1.5e-7, '1.5e-7'], [-1e-12, '-1e-12'], [1e18, '1e18'], [1.5e15, '1.5e15'], [2 / 3 * 1e12, '6.66667e11'], [999999.9999999, '1,000,000'],
      [0.1234567891, '0.123457'], [1.23456789, '1.23456789'], [3.5, '3.5'], [12345.678, '12,345.678'],
      [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
    ];
    for (const [v, want] of cases) assert.equal(fmtValue(v), want, `fmtValue(${v})`);
  });
  test('keeps at least 6 significant digits at every magnitude', () => {
    for (const v of [...magnitudes(), NaN, Infinity, -Infinity]) {
      const label = fmtValue(v);
      const r = readNumber(label);
      within(label, r, v, 'fmtValue');
      if (Number.isFinite(v) && v !== 0) {
        const sixth = Math.pow(10, Math.floor(Math.log10(Math.abs(v))) - 5);
        assert.ok(Math.abs(r.value - v) <= sixth / 2 * (1 + 1e-9), `fmtValue(${v}) = ${label}: fewer than 6 significant digits`);
      }
    }
  });
});

describe('fmtStep and fmtInt', () => {
  test('write integers exactly with digit grouping', () => {
    const cases: [number, string][] = [
      [0, '0'], [7, '7'], [999, '999'], [1000, '1,000'], [100000, '100,000'], [600000, '600,000'], [654321, '654,321'],
      [1000000, '1,000,000'], [-1234567, '-1,234,567'], [1e9, '1,000,000,000'], [1e18, '1,000,000,000,000,000,000'],
      [2 ** 53, '9,007,199,254,740,992'], [NaN, 'NaN'], [Infinity, '+Inf'],
    ];
    for (const [v, want] of cases) assert.equal(fmtStep(v), want, `fmtStep(${v})`);
  });
  test('read back exactly', () => {
    for (let e = 0; e <= 18; e++) {
      for (const m of [1, 2, 5, 6, 9, 1.5, 6.54321]) {
        const v = Math.round(m * Math.pow(10, e));
        const label = fmtInt(v);
        assert.equal(BigInt(label.replace(/,/g, '')), BigInt(v), label);
      }
    }
  });
});

/** ticks: the multiples of incr in [lo, hi], rounded as uPlot rounds them. */
function ticks(lo: number, hi: number, incr: number): number[] {
  const d = decimalsOf(incr);
  const out: number[] = [];
  for (let k = Math.ceil(lo / incr - 1e-9); k * incr <= hi * (1 + 1e-12) + 1e-300; k++) {
    const v = d ? Math.round(k * incr * Math.pow(10, d)) / Math.pow(10, d) : k * incr;
    out.push(Object.is(v, -0) ? 0 : v);
  }
  return out;
}

/** pick: the smallest increment of incrs giving at most n ticks over [lo, hi]. */
function pick(incrs: number[], lo: number, hi: number, n: number): number {
  for (const i of incrs) if ((hi - lo) / i <= n) return i;
  return incrs[incrs.length - 1];
}

const NUM_INCRS: number[] = [];
for (let e = -16; e <= 19; e++) for (const m of [1, 2, 2.5, 5]) NUM_INCRS.push(Number((m * Math.pow(10, e)).toPrecision(2)));

/** checkTicks: each label reads back as its tick, and the labels increase. */
function checkTicks(labels: string[], splits: number[], read: (s: string) => Read, what: string) {
  assert.equal(labels.length, splits.length);
  let prev = -Infinity;
  labels.forEach((label, i) => {
    const r = read(label);
    within(label, r, splits[i], `${what} tick ${splits[i]}`);
    assert.ok(r.value > prev, `${what}: labels not increasing at ${label} (${labels.join(' ')})`);
    prev = r.value;
  });
}

describe('step axis', () => {
  test('labels known ticks', () => {
    const cases: [number, number, string][] = [
      [0, 200000, '0'], [100000, 20000, '100k'], [600000, 200000, '600k'], [200000, 200000, '200k'], [1e6, 200000, '1M'],
      [1.25e6, 250000, '1.25M'], [750000, 250000, '750k'], [750, 250, '750'], [1500, 500, '1.5k'], [10000, 2000, '10k'],
      [2e9, 5e8, '2G'], [2.5e9, 5e8, '2.5G'], [1e12, 1e11, '1T'], [1e15, 1e14, '1e15'], [1.5e18, 1e17, '1.5e18'], [-200000, 100000, '-200k'],
      [654321, 1, '654.321k'], [3, 1, '3'],
    ];
    for (const [v, incr, want] of cases) assert.equal(stepTick(v, incr), want, `stepTick(${v}, ${incr})`);
    assert.deepEqual(stepTicks([0, 200000, 400000, 600000, 800000, 1000000], 200000), ['0', '200k', '400k', '600k', '800k', '1M']);
    assert.deepEqual(stepTicks([null, 5], 5), ['', '5']);
  });
  test('ticks read back and increase over ranges from 10 steps to 1e18', () => {
    for (let e = 1; e <= 18; e++) {
      for (const [a, b] of [[0, 1], [0, 6], [0.3, 0.9], [2.5, 7.5]]) {
        const lo = Math.round(a * Math.pow(10, e)), hi = Math.round(b * Math.pow(10, e));
        for (const n of [3, 6, 10]) {
          const incr = pick(STEP_INCRS, lo, hi, n);
          const s = ticks(lo, hi, incr);
          checkTicks(stepTicks(s, incr), s, readNumber, `steps ${lo}..${hi}/${incr}`);
        }
      }
    }
  });
  test('STEP_INCRS are whole, increasing and reach 1e18', () => {
    for (let i = 0; i < STEP_INCRS.length; i++) {
      assert.ok(Number.isInteger(STEP_INCRS[i]));
      if (i) assert.ok(STEP_INCRS[i] > STEP_INCRS[i - 1]);
    }
    assert.ok(STEP_INCRS[STEP_INCRS.length - 1] >= 1e18);
  });
});

describe('value axis', () => {
  test('labels known ticks', () => {
    assert.deepEqual(valueTicks([0, 0.25, 0.5, 0.75, 1], 0.25), ['0', '0.25', '0.50', '0.75', '1.00']);
    assert.deepEqual(valueTicks([-1000, -500, 0, 500, 1000], 500), ['-1,000', '-500', '0', '500', '1,000']);
    assert.deepEqual(valueTicks([0, 2e6, 4e6, 6e6, 8e6, 1e7], 2e6), ['0', '2e6', '4e6', '6e6', '8e6', '1e7']);
    assert.deepEqual(valueTicks([1e6, 1.5e6, 2e6], 5e5), ['1e6', '1.5e6', '2e6']);
    assert.deepEqual(valueTicks([1e-7, 2e-7, 3e-7], 1e-7), ['1e-7', '2e-7', '3e-7']);
    assert.deepEqual(valueTicks([-2e-5, 0, 2e-5], 2e-5), ['-2e-5', '0', '2e-5']);
    assert.deepEqual(valueTicks([0.1, 0.2, 0.30000000000000004], 0.1), ['0.1', '0.2', '0.3']);
    assert.deepEqual(valueTicks([null, 1], 1), ['', '1']);
  });
  test('ticks read back and increase from 1e-12 to 1e18, negative too', () => {
    const spans: [number, number][] = [[1e-7, 1e7], [-1e7, -1e-7], [-5, 5], [0, 1], [0.999, 1.001], [1000, 1000.5], [-3e-9, 7e-9]];
    for (let e = -12; e <= 18; e++) spans.push([Math.pow(10, e), 9 * Math.pow(10, e)], [-2 * Math.pow(10, e), 3 * Math.pow(10, e)], [Math.pow(10, e), 1.02 * Math.pow(10, e)]);
    for (const [lo, hi] of spans) {
      for (const n of [3, 5, 8]) {
        const incr = pick(NUM_INCRS, lo, hi, n);
        const s = ticks(lo, hi, incr);
        if (s.length < 2) continue;
        const labels = valueTicks(s, incr);
        checkTicks(labels, s, readNumber, `values ${lo}..${hi}/${incr}`);
        for (const l of labels) assert.ok(l.length <= 12, `label ${l} too long for ${lo}..${hi}`);
      }
    }
  });
  test('log ticks read back exactly from 1e-12 to 1e18', () => {
    const s: number[] = [];
    for (let e = -12; e <= 18; e++) for (let m = 1; m <= 9; m++) s.push(Number((m * Math.pow(10, e)).toPrecision(1)));
    checkTicks(logTicks(s), s, readNumber, 'log');
    assert.deepEqual(logTicks([1e-7, 2e-7, 0.001, 1, 50, 1e6, 3e7, null]), ['1e-7', '2e-7', '0.001', '1', '50', '1e6', '3e7', '']);
  });
});

describe('durations', () => {
  test('fmtDuration writes known durations', () => {
    const cases: [number, number, string][] = [
      [0, 1, '0s'], [59.96, 1, '1m'], [90, 1, '1m 30s'], [3600, 1, '1h'], [3615, 1, '1h 15s'], [86400 * 14, 1, '14d'],
      [-45, 1, '-45s'], [1.5, 0.001, '1.5s'], [3723.456, 0.001, '1h 2m 3.456s'], [7200, 3600, '2h'], [5400, 1800, '1h 30m'],
      [86400 * 3, 86400, '3d'], [0, 86400, '0d'], [0.25, 0.25, '0.25s'], [-0.0001, 1, '0s'], [NaN, 1, 'NaN'], [Infinity, 1, '+Inf'],
      [90061, 1, '1d 1h 1m 1s'],
    ];
    for (const [v, res, want] of cases) assert.equal(fmtDuration(v, res), want, `fmtDuration(${v}, ${res})`);
  });
  test('relative axes from a second to weeks read back and increase', () => {
    const spans: [number, number][] = [[0, 1], [0, 10], [0, 90], [0, 600], [0, 3600 * 5], [0, 86400 * 3], [0, 86400 * 7 * 6], [0, 86400 * 400], [3600, 7200], [0.5, 2.5]];
    for (const [lo, hi] of spans) {
      for (const n of [3, 6, 10]) {
        const incr = pick(RELATIVE_INCRS, lo, hi, n);
        const s = ticks(lo, hi, incr);
        checkTicks(durationTicks(s, incr), s, readDuration, `relative ${lo}..${hi}/${incr}`);
      }
    }
  });
  test('fmtDuration reads back within its resolution at every magnitude', () => {
    for (let e = -3; e <= 8; e++) {
      for (const m of [1, 1.5, 3.7, 5.999, 9.9999]) {
        for (const res of [0.001, 1]) {
          const v = m * Math.pow(10, e);
          const label = fmtDuration(v, res);
          within(label, readDuration(label), v, `fmtDuration(${v}, ${res})`);
        }
      }
    }
  });
});

describe('wall time axis', () => {
  const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime() / 1000;
  test('labels known ticks', () => {
    assert.deepEqual(timeTicks([at(2024, 6, 5, 14), at(2024, 6, 5, 15), at(2024, 6, 6, 0), at(2024, 6, 6, 1)], 3600),
      ['06-05 14:00', '15:00', '06-06 00:00', '01:00']);
    assert.deepEqual(timeTicks([at(2024, 12, 30), at(2024, 12, 31), at(2025, 1, 1)], 86400), ['2024-12-30', '12-31', '2025-01-01']);
    assert.deepEqual(timeTicks([at(2024, 12, 31, 22), at(2025, 1, 1, 0), at(2025, 1, 1, 2)], 7200), ['12-31 22:00', '2025-01-01 00:00', '02:00']);
    assert.deepEqual(timeTicks([at(2024, 11, 1), at(2024, 12, 1), at(2025, 1, 1)], 30 * 86400), ['2024-11', '2024-12', '2025-01']);
    assert.deepEqual(timeTicks([at(2020, 1, 1), at(2025, 1, 1)], 5 * 365 * 86400), ['2020', '2025']);
    assert.deepEqual(timeTicks([at(2024, 6, 5, 14, 0, 0), at(2024, 6, 5, 14, 0, 0, 250)], 0.25), ['06-05 14:00:00.00', '14:00:00.25']);
    assert.deepEqual(timeTicks([at(2024, 6, 5, 14, 0, 0), at(2024, 6, 5, 14, 0, 30)], 30), ['06-05 14:00:00', '14:00:30']);
  });
  test('axes from a second to weeks read back and increase', () => {
    const steps: [string, number, number][] = [
      // [name, spacing in seconds, ticks]
      ['250 ms', 0.25, 12], ['1 s', 1, 20], ['30 s', 30, 20], ['5 min', 300, 30], ['1 h', 3600, 40], ['6 h', 6 * 3600, 20],
    ];
    for (const start of [at(2024, 6, 5, 22), at(2024, 12, 31, 20), at(2025, 1, 15, 0)]) {
      for (const [name, incr, n] of steps) {
        const s: number[] = [];
        for (let k = 0; k < n; k++) s.push(Math.round((start + k * incr) * 1000) / 1000);
        const r = new TimeReader(new Date(start * 1000).getFullYear());
        checkTicks(timeTicks(s, incr), s, (l) => r.read(l), `wall ${name} from ${start}`);
      }
      for (const days of [1, 2, 7, 14]) {
        const d0 = new Date(start * 1000);
        const s: number[] = [];
        for (let k = 0; k < 10; k++) s.push(at(d0.getFullYear(), d0.getMonth() + 1, d0.getDate() + k * days));
        const r = new TimeReader(d0.getFullYear());
        checkTicks(timeTicks(s, days * 86400), s, (l) => r.read(l), `wall ${days} d`);
      }
    }
    const months: number[] = [];
    for (let k = 0; k < 14; k++) months.push(at(2024, 1 + k, 1));
    const r = new TimeReader(2024);
    checkTicks(timeTicks(months, 30 * 86400), months, (l) => r.read(l), 'wall months');
  });
});

describe('sizes, dates, numbers', () => {
  test('fmtBytes writes known sizes', () => {
    const cases: [number, string][] = [
      [0, '0 B'], [1, '1 B'], [1023, '1,023 B'.replace(',', '')], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [10 * 1024, '10 KiB'],
      [1048575, '1.0 MiB'], [1048576, '1.0 MiB'], [1073741824 * 1.25, '1.3 GiB'], [2 ** 60, '1.0 EiB'], [1e18, '888 PiB'],
      [NaN, ''], [Infinity, ''],
    ];
    for (const [v, want] of cases) assert.equal(fmtBytes(v), want, `fmtBytes(${v})`);
  });
  test('fmtBytes reads back within its precision', () => {
    for (let e = 0; e <= 18; e++) {
      for (const m of [1, 1.5, 3.3, 9.96, 9.99]) {
        const v = Math.round(m * Math.pow(10, e));
        const label = fmtBytes(v);
        within(label, readBytes(label), v, 'fmtBytes');
        assert.ok(Number(label.split(' ')[0]) < 1024, `${label}: should use the next unit`);
      }
    }
  });
  test('fmtWall writes the date and time, to the millisecond when it has them', () => {
    const t = new Date(2024, 2, 5, 14, 7, 9).getTime() / 1000;
    assert.equal(fmtWall(t), '2024-03-05 14:07:09');
    assert.equal(fmtWall(t + 0.25), '2024-03-05 14:07:09.250');
    assert.equal(fmtWall(t + 0.05), '2024-03-05 14:07:09.050');
    assert.equal(fmtWall(NaN), 'NaN');
    assert.equal(fmtDate(new Date(2024, 2, 5, 14, 7, 59)), '2024-03-05 14:07');
    assert.equal(fmtDate(null), '');
  });
  test('fmtAgo rounds to the unit it names', () => {
    const now = Date.UTC(2024, 5, 1);
    const cases: [number, string][] = [[10, 'just now'], [60, '1 min ago'], [59.6 * 60, '1 h ago'], [23.6 * 3600, '1 d ago'], [3 * 86400, '3 d ago']];
    for (const [s, want] of cases) assert.equal(fmtAgo(new Date(now - s * 1000), now), want, `${s} s ago`);
    assert.equal(fmtAgo(new Date(now - 40 * 86400 * 1000), now), fmtDate(new Date(now - 40 * 86400 * 1000)));
  });
  test('num reads JSON numbers and the non-finite names', () => {
    assert.equal(num(1.5), 1.5);
    assert.ok(Number.isNaN(num('NaN')));
    assert.equal(num('Infinity'), Infinity);
    assert.equal(num('-Infinity'), -Infinity);
    assert.equal(num('2.5'), 2.5);
    assert.ok(Number.isNaN(num(null)));
  });
  test('decimalsOf forgives binary noise', () => {
    assert.equal(decimalsOf(0.1 + 0.2), 1);
    assert.equal(decimalsOf(2.5e-8), 9);
    assert.equal(decimalsOf(200000), 0);
    assert.equal(decimalsOf(0.25), 2);
  });
});
