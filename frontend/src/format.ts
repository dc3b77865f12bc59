// Number, size, time and color helpers.

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i];
}

/** toDate accepts RFC 3339 strings, seconds or milliseconds since the epoch. */
export function toDate(v: unknown): Date | null {
  if (v == null || v === '') return null;
  if (typeof v === 'number') return new Date(v > 1e12 ? v : v * 1000);
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDate(d: Date | null): string {
  if (!d) return '';
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtAgo(d: Date | null): string {
  if (!d) return '';
  const s = (Date.now() - d.getTime()) / 1000;
  if (s < 45) return 'just now';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  if (s < 86400 * 30) return Math.round(s / 86400) + ' d ago';
  return fmtDate(d);
}

export function fmtNum(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(5)).toString();
}

export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '';
  const neg = sec < 0;
  sec = Math.abs(sec);
  let s: string;
  if (sec < 60) s = sec.toFixed(sec < 10 ? 1 : 0) + 's';
  else if (sec < 3600) s = Math.floor(sec / 60) + 'm' + (Math.round(sec % 60) ? ' ' + Math.round(sec % 60) + 's' : '');
  else if (sec < 86400) s = Math.floor(sec / 3600) + 'h' + (Math.round((sec % 3600) / 60) ? ' ' + Math.round((sec % 3600) / 60) + 'm' : '');
  else s = (sec / 86400).toFixed(1) + 'd';
  return (neg ? '-' : '') + s;
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
