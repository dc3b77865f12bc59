// The native JSON API of a board (docs/design.md, "HTTP API").

export interface Board {
  id: string;
  name: string;
  description: string;
  created: string | number;
  updated: string | number;
  private: boolean;
  runs: number | unknown[];
  size: number;
  live: boolean;
}

export interface TagInfo {
  plugin: string;
  count: number;
  kept: number;
  min_step: number;
  max_step: number;
  display_name?: string;
  description?: string;
  min?: number | string;
  max?: number | string;
  last?: number | string;
  nonfinite?: number;
}

export type TagIndex = Record<string, Record<string, TagInfo>>; // run -> tag -> info

export interface ScalarResponse {
  points: [number, number, number | string][];
  envelope?: [number, number | string, number | string][];
  nonfinite?: (number | string)[][];
  stats?: { count: number; min: number; max: number; first: number; last: number };
}

/** The answer of /scalars_multi: one tag's series in many runs. */
export interface ScalarMultiResponse {
  tag: string;
  runs: Record<string, ScalarResponse>;
}

/** A query parameter: absent, one value, or repeated (run=a&run=b). */
export type Param = string | number | undefined | null | readonly string[];

export interface HistogramItem { wall_time: number; step: number; buckets: [number, number, number][] }
export interface ImageItem { wall_time: number; step: number; width: number; height: number; blobs: string[] }
export interface AudioItem { wall_time: number; step: number; clips: { blob: string; label: string; content_type: string }[] }
export interface TextItem { wall_time: number; step: number; shape: number[]; strings: string[] }
export interface PRItem {
  wall_time: number; step: number;
  precision: (number | string)[]; recall: (number | string)[];
  tp?: number[]; fp?: number[]; tn?: number[]; fn?: number[]; thresholds?: number[];
}
/** One run of GET /runs, with its annotations: note (Markdown) and
 * note_html (the server's sanitised rendering, the only form the page
 * inserts as HTML), baseline when the owner marked it. */
export interface RunInfo {
  name: string;
  first_wall_time?: number;
  last_wall_time?: number;
  tags?: number;
  note?: string;
  note_html?: string;
  baseline?: boolean;
}

/** The answer of PATCH /annotations. */
export interface Annotation { run: string; note: string; note_html: string; baseline: boolean }

export interface HParamsResponse { runs: Record<string, { hparams?: Record<string, unknown>; metrics?: Record<string, unknown> }> }

export { num } from './format';

export class HttpError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

/** RETRY_DELAYS are the waits before asking again after a failure that
 * may pass (no answer, 429, 502, 503, 504): a server restarting or
 * overloaded for a moment should not leave a chart in an error state. */
const RETRY_DELAYS = [250, 1000, 3000];

const transient = new Set([429, 502, 503, 504]);

/** fetchRetrying GETs u, asking again after transient failures. */
async function fetchRetrying(u: string, signal?: AbortSignal): Promise<Response> {
  for (let i = 0; ; i++) {
    let res: Response | null = null;
    try {
      res = await fetch(u, { signal, headers: { Accept: 'application/json' } });
    } catch (e) {
      if (signal?.aborted || i >= RETRY_DELAYS.length) throw e;
    }
    if (res && (res.ok || !transient.has(res.status) || i >= RETRY_DELAYS.length)) return res;
    res?.body?.cancel().catch(() => {}); // free the connection
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS[i]));
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
  }
}

/** Api builds URLs under /api/boards/<id>/ and passes the view key along. */
export class Api {
  readonly base: string;
  constructor(public id: string, public key: string | null) {
    this.base = '/api/boards/' + encodeURIComponent(id);
  }

  url(path: string, params: Record<string, Param> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) { for (const x of v) q.append(k, x); continue; }
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    if (this.key) q.set('key', this.key);
    const s = q.toString();
    return this.base + path + (s ? '?' + s : '');
  }

  blob(sha: string): string { return this.url('/blobs/' + encodeURIComponent(sha)); }

  /** send makes a write (or a GET that needs the write token) with the
   * owner's token as Bearer; the server's error sentence on failure. */
  async send<T>(method: string, path: string, params: Record<string, Param>, token: string, body?: unknown): Promise<T> {
    const u = this.url(path, params);
    track(u);
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(u, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) {
      let msg = res.statusText;
      try { const j = await res.json(); if (j && j.error) msg = j.error; } catch { /* not JSON */ }
      throw new HttpError(res.status, msg || 'HTTP ' + res.status);
    }
    return await res.json() as T;
  }

  async get<T>(path: string, params: Record<string, Param> = {}, signal?: AbortSignal): Promise<T> {
    const u = this.url(path, params);
    track(u);
    const t0 = performance.now();
    const res = await fetchRetrying(u, signal);
    const t1 = performance.now();
    if (!res.ok) {
      timing(path, t0, t1, t1);
      let msg = res.statusText;
      try { const j = await res.json(); if (j && j.error) msg = j.error; } catch { /* not JSON */ }
      throw new HttpError(res.status, msg || 'HTTP ' + res.status);
    }
    const v = await res.json() as T;
    timing(path, t0, t1, performance.now());
    return v;
  }
}

/** The test hooks: every API URL asked for, and the last scalars query
 * (/scalars or /scalars_multi). */
export interface Probe {
  queries: number;
  scalarQueries: number;
  lastQuery: string;
  lastScalarQuery: string;
  urls: string[];
  chartsDrawn: number;
  firstChartMs: number;
  ready: boolean;
  /** [path, start ms, ms to the response headers, ms to the parsed body]
   * of the first API calls, and [#step, start ms, ms] of the page's own
   * steps (#draw: a chart's first drawing). */
  timings: [string, number, number, number?][];
}

export const probe: Probe = {
  queries: 0, scalarQueries: 0, lastQuery: '', lastScalarQuery: '', urls: [], chartsDrawn: 0, firstChartMs: 0, ready: false, timings: [],
};
if (typeof window !== 'undefined') (window as unknown as { __tbhost: Probe }).__tbhost = probe;

function timing(path: string, t0: number, t1: number, t2: number) {
  if (probe.timings.length < 300) probe.timings.push([path, Math.round(t0), Math.round(t1 - t0), Math.round(t2 - t0)]);
}

/** mark records a step of the page's own in probe.timings. */
export function mark(step: string, t0: number) {
  if (probe.timings.length < 300) probe.timings.push([step, Math.round(t0), Math.round(performance.now() - t0)]);
}

function track(u: string) {
  probe.queries++;
  probe.lastQuery = u;
  if (probe.urls.length < 5000) probe.urls.push(u);
  if (u.includes('/scalars?') || u.includes('/scalars_multi?')) { probe.scalarQueries++; probe.lastScalarQuery = u; }
}

/** Limiter runs at most n tasks at once; higher priority first. */
export class Limiter {
  private running = 0;
  private queue: { pri: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  constructor(private n: number) {}
  schedule<T>(fn: () => Promise<T>, pri = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.running++;
        fn().then(resolve, reject).finally(() => { this.running--; this.next(); });
      };
      this.queue.push({ pri, seq: this.seq++, run });
      this.next();
    });
  }
  private next() {
    while (this.running < this.n && this.queue.length) {
      let best = 0;
      for (let i = 1; i < this.queue.length; i++) {
        const a = this.queue[i], b = this.queue[best];
        if (a.pri > b.pri || (a.pri === b.pri && a.seq < b.seq)) best = i;
      }
      const [t] = this.queue.splice(best, 1);
      t.run();
    }
  }
}
