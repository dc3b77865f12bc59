// Number, size, time and color helpers. Every number the page shows is
// written by one of the formatters here: exact values (fmtStep, fmtValue,
// fmtWall, fmtDuration), axis tick labels (stepTicks, valueTicks,
// logTicks, durationTicks, timeTicks) and sizes (fmtBytes). A label never
// says more than it knows nor less than tells its ticks apart: tick labels
// are exact for ticks spaced incr apart, value labels keep at least 6
// significant digits, steps are exact integers.

/** nonFinite names NaN and the infinities ('' for a finite number). */
function nonFinite(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return '';
}

/** decimalsOf: the fewest decimal places (0..20) that write x exactly
 * (to a relative 1e-9, forgiving binary noise such as 0.1 + 0.2). */
export function decimalsOf(x: number): number {
  x = Math.abs(x);
  if (!Number.isFinite(x) || x === 0) return 0;
  for (let d = 0; d < 20; d++) {
    const y = x * Math.pow(10, d);
    if (Math.abs(y - Math.round(y)) <= 1e-9 * y) return d;
  }
  return 20;
}

/** group puts thousands separators (,) in a run of digits. */
function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** fixed writes v with d decimals and a grouped integer part; a value
 * that rounds to zero has no sign. */
function fixed(v: number, d: number): string {
  let s = Math.abs(v).toFixed(d);
  const neg = v < 0 && /[1-9]/.test(s);
  const dot = s.indexOf('.');
  s = dot < 0 ? group(s) : group(s.slice(0, dot)) + s.slice(dot);
  return (neg ? '-' : '') + s;
}

/** trimZeros drops the trailing zeros of a fraction (never of an integer). */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** sci writes v as mantissa e exponent ("1.5e6", "-2e-7") with d mantissa
 * decimals, trailing zeros dropped. */
function sci(v: number, d: number): string {
  const [m, e] = v.toExponential(Math.min(20, Math.max(0, d))).split('e');
  return trimZeros(m) + 'e' + (e[0] === '+' ? e.slice(1) : e);
}

/** fmtInt writes an integer exactly, with digit grouping ("654,321"). */
export function fmtInt(v: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  if (!Number.isInteger(v)) return fmtValue(v);
  const digits = Math.abs(v) < 1e21 ? Math.abs(v).toFixed(0) : BigInt(Math.abs(v)).toString();
  return (v < 0 ? '-' : '') + group(digits);
}

/** fmtStep writes a step exactly: 654321 → "654,321". */
export function fmtStep(v: number): string { return fmtInt(v); }

/** sigDigits counts the significant digits of the shortest decimal that
 * reads back as v. */
function sigDigits(v: number): number {
  const m = String(Math.abs(v)).split('e')[0].replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(1, m.length);
}

/**
 * fmtValue writes a value for a table or a tooltip: an integer below 1e15
 * exactly ("1,000,000"); else the shortest decimal that reads back as the
 * value when it has at most 9 significant digits, or 6 significant
 * digits; fixed notation from 1e-4 to 1e9, else "1.5e-7"; "NaN", "+Inf",
 * "-Inf".
 */
export function fmtValue(v: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return fmtInt(v);
  const sd = sigDigits(v);
  const p = sd <= 9 ? sd : 6;
  if (a >= 1e-4 && a < 1e9) {
    // the exponent of v once rounded to p digits (999.9999 → 1000)
    const e = Number(a.toExponential(p - 1).split('e')[1]);
    return trimZeros(fixed(v, Math.max(0, p - 1 - e)));
  }
  return sci(v, p - 1);
}

/** fmtNum is fmtValue (the one way to write a value). */
export const fmtNum = fmtValue;

// ---- axis tick labels ------------------------------------------------------
// uPlot calls an axis' values(u, splits, axisIdx, space, incr) with the
// ticks (null for a tick it hides) and their spacing; these return one
// label per tick ('' for null).

type Splits = readonly (number | null)[];

/** STEP_UNITS: the suffixes of step tick labels. */
const STEP_UNITS: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** stepTick writes a step tick of an axis whose ticks are incr apart:
 * "0", "750", "200k", "1.25M", "3G", "1e15". */
export function stepTick(v: number, incr: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  const a = Math.abs(v);
  if (a < Math.abs(incr) * 1e-9) return '0';
  if (a >= 1e15) {
    const e = Math.floor(Math.log10(a));
    return sci(v, decimalsOf(incr / Math.pow(10, e)));
  }
  for (const [u, suffix] of STEP_UNITS) {
    if (a >= u) return trimZeros(fixed(v / u, decimalsOf(incr / u))) + suffix;
  }
  return trimZeros(fixed(v, decimalsOf(incr)));
}

export function stepTicks(splits: Splits, incr: number): string[] {
  return splits.map((v) => (v == null ? '' : stepTick(v, incr)));
}

/**
 * valueTicks labels the ticks of a linear value axis, incr apart, all in
 * one notation: fixed when the largest tick is from 1e-4 to 1e6 ("0.25",
 * "-1,500"), else "2.5e-7", "1e6". Each label is its tick exactly.
 */
export function valueTicks(splits: Splits, incr: number): string[] {
  let max = 0;
  for (const v of splits) if (v != null && Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  const tiny = Math.abs(incr) * 1e-9;
  const useFixed = max < 1e6 && max >= 1e-4;
  const d = decimalsOf(incr);
  return splits.map((v) => {
    if (v == null) return '';
    const nf = nonFinite(v);
    if (nf) return nf;
    if (Math.abs(v) <= tiny) return '0';
    if (useFixed) return fixed(v, d);
    const e = Number(v.toExponential().split('e')[1]);
    return sci(v, decimalsOf(incr / Math.pow(10, e)));
  });
}

/** logTicks labels the ticks of a log axis (1, 2, ..., 9 × 10^k): fixed
 * notation from 1e-4 to 1e6, else "2e-7". */
export function logTicks(splits: Splits): string[] {
  return splits.map((v) => {
    if (v == null) return '';
    const nf = nonFinite(v);
    if (nf) return nf;
    if (v === 0) return '0';
    const r = Number(v.toPrecision(12));
    const a = Math.abs(r);
    if (a >= 1e-4 && a < 1e6) return fixed(r, decimalsOf(r));
    return sci(r, decimalsOf(r / Math.pow(10, Math.floor(Math.log10(a) + 1e-12))));
  });
}

const MIN = 60, HOUR = 3600, DAY = 86400;

/**
 * fmtDuration writes seconds as days, hours, minutes and seconds down to
 * the unit of res (the resolution, in seconds: 1 writes whole seconds,
 * 0.01 hundredths, 60 whole minutes, 86400 days): "1h 30m", "2d",
 * "1m 5.25s", "-45s". Zero components inside are left out ("1h 15s").
 */
export function fmtDuration(sec: number, res = 1): string {
  const nf = nonFinite(sec);
  if (nf) return nf;
  res = Math.abs(res) || 1;
  let unit = 1;
  let dec = 0;
  if (res >= DAY && res % DAY === 0) unit = DAY;
  else if (res >= HOUR && res % HOUR === 0) unit = HOUR;
  else if (res >= MIN && res % MIN === 0) unit = MIN;
  else if (res < 1) dec = decimalsOf(res);
  const q = unit === 1 ? Math.pow(10, -dec) : unit;
  // round to the resolution first (59.96 s at whole seconds is "1m")
  const scale = unit === 1 ? Math.pow(10, dec) : 1;
  let rest = unit === 1 ? Math.round(Math.abs(sec) * scale) : Math.round(Math.abs(sec) / q); // in units of q
  const neg = sec < 0 && rest > 0;
  const parts: string[] = [];
  const perQ = (u: number) => (unit === 1 ? u * scale : u / unit);
  for (const [u, name] of [[DAY, 'd'], [HOUR, 'h'], [MIN, 'm']] as [number, string][]) {
    if (u < unit) break;
    const n = perQ(u);
    const k = Math.floor(rest / n);
    rest -= k * n;
    if (k) parts.push(k + name);
  }
  if (unit === 1) {
    if (rest || !parts.length) parts.push(trimZeros((rest / scale).toFixed(dec)) + 's');
  } else if (!parts.length) {
    parts.push('0' + (unit === DAY ? 'd' : unit === HOUR ? 'h' : 'm'));
  }
  return (neg ? '-' : '') + parts.join(' ');
}

export function durationTicks(splits: Splits, incr: number): string[] {
  return splits.map((v) => (v == null ? '' : fmtDuration(v, incr)));
}

/** RELATIVE_INCRS: tick spacings of a relative time axis, in seconds. */
export const RELATIVE_INCRS: number[] = (() => {
  const out: number[] = [];
  for (let e = -3; e < 0; e++) for (const m of [1, 2, 5]) out.push(Number((m * Math.pow(10, e)).toPrecision(1)));
  out.push(1, 2, 5, 10, 15, 30);
  for (const m of [1, 2, 5, 10, 15, 30]) out.push(m * MIN);
  for (const h of [1, 2, 3, 6, 12]) out.push(h * HOUR);
  for (const d of [1, 2, 3, 7, 14, 28]) out.push(d * DAY);
  for (let e = 2; e < 7; e++) for (const m of [0.5, 1, 2]) out.push(m * Math.pow(10, e) * DAY);
  return out;
})();

/** STEP_INCRS: tick spacings of a step axis (whole steps). */
export const STEP_INCRS: number[] = (() => {
  const out: number[] = [];
  for (let e = 0; e <= 18; e++) for (const m of [1, 2, 2.5, 5]) if (e > 0 || m !== 2.5) out.push(m * Math.pow(10, e));
  return out;
})();

const p2 = (x: number) => String(x).padStart(2, '0');
const ymd = (d: Date) => `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
const md = (d: Date) => `${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;

/**
 * timeTicks labels wall-clock ticks (seconds since the epoch, local
 * time) spaced incr seconds apart: "2024" (years), "2024-03" (months),
 * "2024-03-05" then "03-06" (days), "03-05 14:00" then "15:00" (hours and
 * minutes), ":SS" and fractions below. The first label and the first of
 * each new day carry the date (with the year in a new year).
 */
export function timeTicks(splits: Splits, incr: number): string[] {
  let prev: Date | null = null;
  const dec = incr < 1 ? decimalsOf(incr) : 0;
  return splits.map((v) => {
    if (v == null) return '';
    const nf = nonFinite(v);
    if (nf) return nf;
    const d = new Date(Math.round(v * 1000));
    const first = prev === null;
    const newDay = first || ymd(d) !== ymd(prev!);
    const newYear = first || d.getFullYear() !== prev!.getFullYear();
    prev = d;
    if (incr >= 365 * DAY) return String(d.getFullYear());
    if (incr >= 28 * DAY) return `${d.getFullYear()}-${p2(d.getMonth() + 1)}`;
    if (incr >= DAY) return newYear ? ymd(d) : md(d);
    let t = `${p2(d.getHours())}:${p2(d.getMinutes())}`;
    if (incr < MIN) {
      t += ':' + p2(d.getSeconds());
      if (dec) t += '.' + String(d.getMilliseconds()).padStart(3, '0').slice(0, dec);
    }
    if (!newDay) return t;
    return (newYear && !first ? ymd(d) : md(d)) + ' ' + t;
  });
}

/** num converts a JSON number or one of the strings "NaN", "Infinity", "-Infinity". */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity' || v === '+Infinity' || v === 'Inf') return Infinity;
    if (v === '-Infinity' || v === '-Inf') return -Infinity;
    const f = parseFloat(v);
    return f;
  }
  if (v == null) return NaN;
  return Number(v);
}

// ---- sizes and dates -------------------------------------------------------

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** fmtBytes writes a size in bytes with binary units, as the CLI does:
 * "512 B", "1.5 KiB", "20 MiB" (one decimal below 10). */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '';
  const neg = n < 0;
  let a = Math.abs(n);
  let i = 0;
  let s = String(Math.round(a));
  if (Math.round(a) >= 1024) {
    while (i < BYTE_UNITS.length - 1) {
      a /= 1024;
      i++;
      const d = a < 9.95 ? 1 : 0;
      s = a.toFixed(d);
      if (Number(s) < 1024 || i === BYTE_UNITS.length - 1) break;
    }
  }
  return (neg ? '-' : '') + s + ' ' + BYTE_UNITS[i];
}

/** toDate accepts RFC 3339 strings, seconds or milliseconds since the epoch. */
export function toDate(v: unknown): Date | null {
  if (v == null || v === '') return null;
  if (typeof v === 'number') return new Date(v > 1e12 ? v : v * 1000);
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** fmtDate writes a local date and time to the minute: "2024-03-05 14:07". */
export function fmtDate(d: Date | null): string {
  if (!d || Number.isNaN(d.getTime())) return '';
  return `${ymd(d)} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

/** fmtWall writes a wall time (seconds since the epoch) as a local date
 * and time to the second, with milliseconds when it has them:
 * "2024-03-05 14:07:09", "2024-03-05 14:07:09.250". */
export function fmtWall(sec: number): string {
  if (!Number.isFinite(sec)) return nonFinite(sec);
  const ms = Math.round(sec * 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const frac = ((ms % 1000) + 1000) % 1000;
  return `${ymd(d)} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}` + (frac ? '.' + String(frac).padStart(3, '0') : '');
}

/** fmtAgo writes how long ago d was: "just now", "5 min ago", "3 h ago",
 * "2 d ago", then the date. */
export function fmtAgo(d: Date | null, now = Date.now()): string {
  if (!d) return '';
  const s = (now - d.getTime()) / 1000;
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return m + ' min ago';
  const h = Math.round(s / 3600);
  if (h < 24) return h + ' h ago';
  const days = Math.round(s / 86400);
  if (days < 30) return days + ' d ago';
  return fmtDate(d);
}

// TensorBoard-like palette: distinct, readable on white.
const PALETTE = [
  '#ff7043', '#0077bb', '#cc3311', '#33bbee', '#ee3377', '#009988', '#bbbbbb',
  '#7e57c2', '#f9a825', '#5c6bc0', '#8d6e63', '#43a047', '#d81b60', '#00acc1', '#6d4c41',
];

export function runColor(i: number): string {
  if (i < PALETTE.length) return PALETTE[i];
  // golden-angle hues beyond the palette
  const h = (i * 137.508) % 360;
  return `hsl(${h.toFixed(0)}, 65%, ${i % 2 ? 42 : 52}%)`;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

/** compileFilter: "/re/" or a string with regex characters → RegExp (case-insensitive); else substring. */
export function compileFilter(src: string, regex: boolean): { test: (s: string) => boolean; error: string } {
  const t = src.trim();
  if (!t) return { test: () => true, error: '' };
  let re = regex;
  let body = t;
  const m = /^\/(.*)\/([a-z]*)$/.exec(t);
  if (m) { re = true; body = m[1]; }
  if (re) {
    try {
      const r = new RegExp(body, 'i');
      return { test: (s) => r.test(s), error: '' };
    } catch (e) {
      return { test: () => false, error: (e as Error).message };
    }
  }
  const low = t.toLowerCase();
  return { test: (s) => s.toLowerCase().includes(low), error: '' };
}

export function download(name: string, href: string) {
  const a = el('a', { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

/** withAlpha returns a color (#rrggbb or hsl(...)) at opacity a. */
export function withAlpha(c: string, a: number): string {
  if (c.startsWith('#') && c.length === 7) {
    const n = parseInt(c.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  if (c.startsWith('hsl(')) return 'hsla(' + c.slice(4, -1) + `, ${a})`;
  return c;
}

/** nearest returns the index of the value in sorted xs closest to x (-1 if empty). */
export function nearest(xs: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (!n) return -1;
  let lo = 0, hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
}

/** lowerBound: first index with xs[i] >= x. */
export function lowerBound(xs: ArrayLike<number>, x: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}
