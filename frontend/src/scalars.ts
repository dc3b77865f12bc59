// The Scalars tab: one uPlot chart per tag with every visible run,
// smoothing, x axis modes, log y, the min/max envelope band, non-finite
// markers, a tooltip, a cursor synced across charts, and drag-to-zoom that
// asks the server for the zoomed step range at the chart's width.
import uPlot from 'uplot';
import { ScalarMultiResponse, ScalarResponse, mark, num, probe } from './api';
import { BoardApp, Lazy, View, groupTags } from './board';
import { padding, recordAxes, xAxis, yAxis } from './axes';
import { compileFilter, el, fmtDuration, fmtStep, fmtValue, fmtWall, lowerBound, nearest, withAlpha } from './format';
import { noteElement } from './notes';
import { smooth } from './smoothing';
import { XAxis } from './state';

/** One run's scalar series as served, sorted by step. */
interface Series {
  wall: Float64Array;
  step: Float64Array;
  value: Float64Array;
  envStep: Float64Array;
  envMin: Float64Array;
  envMax: Float64Array;
  nonfinite: { step: number; kind: string }[];
}

function parseSeries(r: ScalarResponse): Series {
  const pts = (r.points ?? []).slice();
  pts.sort((a, b) => a[1] - b[1]);
  const n = pts.length;
  const s: Series = {
    wall: new Float64Array(n), step: new Float64Array(n), value: new Float64Array(n),
    envStep: new Float64Array(0), envMin: new Float64Array(0), envMax: new Float64Array(0), nonfinite: [],
  };
  for (let i = 0; i < n; i++) {
    s.wall[i] = num(pts[i][0]);
    s.step[i] = num(pts[i][1]);
    s.value[i] = num(pts[i][2]);
  }
  const env = (r.envelope ?? []).slice().sort((a, b) => a[0] - b[0]);
  s.envStep = new Float64Array(env.length);
  s.envMin = new Float64Array(env.length);
  s.envMax = new Float64Array(env.length);
  env.forEach((e, i) => { s.envStep[i] = num(e[0]); s.envMin[i] = num(e[1]); s.envMax[i] = num(e[2]); });
  const seen = new Set<number>();
  // rows are [wall_time, step, value] (or [step, value])
  for (const row of r.nonfinite ?? []) {
    const step = num(row.length >= 3 ? row[1] : row[0]);
    const v = num(row[row.length - 1]);
    seen.add(step);
    s.nonfinite.push({ step, kind: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' });
  }
  for (let i = 0; i < n; i++) {
    const v = s.value[i];
    if (!Number.isFinite(v) && !seen.has(s.step[i])) s.nonfinite.push({ step: s.step[i], kind: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' });
  }
  return s;
}

const HEIGHT = 220;
/** The points (about) of a chart's first, coarse, query. */
const COARSE_POINTS = 60_000;
/** The most runs a chart names in its query (run=); more ask for every run. */
const MAX_RUN_PARAMS = 50;
/** ?scalars=per-run: one /scalars request per run and chart, as before
 * /scalars_multi (to compare the two). */
const PER_RUN = new URLSearchParams(location.search).get('scalars') === 'per-run';
const SYNC_KEY = 'tbhost-scalars';

export class ScalarsView implements View {
  private charts = new Map<string, ScalarChart>();
  private lazy = new Lazy();
  private cache = new Map<string, Promise<Map<string, Series>>>();
  private cacheGen = -1;
  private resize: ResizeObserver;
  private lastWidth = 0;
  private smoothRaf = 0;
  private groupsEl: HTMLElement;
  private tagFilterInput!: HTMLInputElement;
  private countEl!: HTMLElement;

  constructor(readonly app: BoardApp, private content: HTMLElement, toolbar: HTMLElement) {
    this.buildToolbar(toolbar);
    this.groupsEl = el('div', { id: 'scalar-groups', class: 'groups' });
    content.append(this.groupsEl);
    this.renderCards();
    this.resize = new ResizeObserver(() => {
      const w = this.content.clientWidth;
      if (Math.abs(w - this.lastWidth) < 2) return;
      this.lastWidth = w;
      for (const c of this.charts.values()) c.resize();
    });
    this.resize.observe(content);
  }

  private buildToolbar(tb: HTMLElement) {
    const s = this.app.state;
    this.tagFilterInput = el('input', { id: 'tag-filter', type: 'search', placeholder: 'Filter tags (regex)', autocomplete: 'off', spellcheck: 'false' });
    this.tagFilterInput.value = s.tagFilter;
    let t = 0;
    this.tagFilterInput.addEventListener('input', () => {
      clearTimeout(t);
      t = window.setTimeout(() => { s.tagFilter = this.tagFilterInput.value; this.app.saveState(); this.renderCards(); }, 150);
    });

    const slider = el('input', { id: 'smoothing', type: 'range', min: '0', max: '0.999', step: '0.001', value: String(s.smoothing) });
    const box = el('input', { id: 'smoothing-value', type: 'number', min: '0', max: '0.999', step: '0.01', value: String(s.smoothing) });
    const setSmoothing = (v: number, from: HTMLInputElement) => {
      if (!Number.isFinite(v)) return;
      v = Math.min(0.999, Math.max(0, v));
      s.smoothing = v;
      if (from !== slider) slider.value = String(v);
      if (from !== box) box.value = String(v);
      this.app.saveState();
      if (!this.smoothRaf) {
        this.smoothRaf = requestAnimationFrame(() => {
          this.smoothRaf = 0;
          for (const c of this.charts.values()) c.restyle();
        });
      }
    };
    slider.addEventListener('input', () => setSmoothing(parseFloat(slider.value), slider));
    box.addEventListener('change', () => setSmoothing(parseFloat(box.value), box));

    const xsel = el('select', { id: 'x-axis', title: 'Horizontal axis' },
      el('option', { value: 'step', text: 'Step' }), el('option', { value: 'relative', text: 'Relative' }), el('option', { value: 'wall', text: 'Wall time' }));
    xsel.value = s.x;
    xsel.addEventListener('change', () => { s.x = xsel.value as XAxis; this.app.saveState(); this.rebuildAll(); });

    const logy = el('input', { id: 'log-y', type: 'checkbox' });
    logy.checked = s.logY;
    logy.addEventListener('change', () => { s.logY = logy.checked; this.app.saveState(); this.rebuildAll(); });
    const band = el('input', { id: 'show-band', type: 'checkbox' });
    band.checked = s.band;
    band.addEventListener('change', () => { s.band = band.checked; this.app.saveState(); for (const c of this.charts.values()) c.redraw(); });

    this.countEl = el('span', { class: 'muted', id: 'chart-count' });
    tb.append(
      el('label', { class: 'field grow' }, this.tagFilterInput),
      el('label', { class: 'field', title: 'Exponential moving average weight (TensorBoard\'s)' }, 'Smoothing ', slider, box),
      el('label', { class: 'field' }, 'X ', xsel),
      el('label', { class: 'check' }, logy, ' log y'),
      el('label', { class: 'check', title: 'Min/max of the raw values in each pixel column' }, band, ' min/max band'),
      this.countEl,
    );
  }

  /**
   * series returns a tag's series in the given runs at a width and step
   * range: one /scalars_multi request per chart, cached. It names the runs
   * (run=) only for a small subset of the runs having the tag; otherwise it
   * asks for every run and the caller picks its own, so that one answer
   * serves every selection.
   */
  series(tag: string, runs: readonly string[], width: number, start?: number, end?: number, pri = 0): Promise<Map<string, Series>> {
    if (this.cacheGen !== this.app.generation) { this.cache.clear(); this.cacheGen = this.app.generation; }
    if (!runs.length) return Promise.resolve(new Map());
    const win = [tag, width, start ?? null, end ?? null];
    const allKey = JSON.stringify([...win, '*']);
    const all = this.cache.get(allKey);
    if (all) return all;
    const having = this.app.runs().reduce((n, r) => n + (this.app.tagInfo(r, tag)?.plugin === 'scalars' ? 1 : 0), 0);
    const subset = runs.length < having && runs.length <= MAX_RUN_PARAMS;
    const names = subset ? [...runs].sort() : null;
    const key = names ? JSON.stringify([...win, ...names]) : allKey;
    let p = this.cache.get(key);
    if (!p) {
      p = this.app.chartLimiter.schedule(() => this.fetch(tag, names, width, start, end), pri);
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  private async fetch(tag: string, runs: string[] | null, width: number, start?: number, end?: number): Promise<Map<string, Series>> {
    const api = this.app.api;
    const out = new Map<string, Series>();
    if (PER_RUN) {
      // the old way, one request per run, kept to compare (?scalars=per-run)
      const list = runs ?? this.app.runs().filter((r) => this.app.tagInfo(r, tag)?.plugin === 'scalars');
      const got = await Promise.all(list.map((run) => api.get<ScalarResponse>('/scalars', { run, tag, width, start, end })));
      list.forEach((run, i) => out.set(run, parseSeries(got[i])));
      return out;
    }
    const res = await api.get<ScalarMultiResponse>('/scalars_multi', { tag, width, start, end, run: runs ?? undefined });
    const t0 = performance.now();
    for (const [run, r] of Object.entries(res.runs ?? {})) out.set(run, parseSeries(r));
    mark('#parse', t0);
    return out;
  }

  private renderCards() {
    const all = this.app.allTagsFor('scalars');
    const f = compileFilter(this.app.state.tagFilter, true);
    this.tagFilterInput.classList.toggle('invalid', !!f.error);
    const tags = all.filter((t) => f.test(t));
    this.countEl.textContent = tags.length === all.length ? `${all.length} charts` : `${tags.length} of ${all.length} charts`;
    const keep = new Set(tags);
    for (const [tag, c] of this.charts) {
      if (!keep.has(tag)) { this.lazy.unobserve(c.el); c.destroy(); this.charts.delete(tag); }
    }
    const groups = groupTags(tags);
    const sections: HTMLElement[] = [];
    for (const [name, list] of groups) {
      let sec = this.groupsEl.querySelector<HTMLDetailsElement>(`details.tag-group[data-group="${CSS.escape(name)}"]`);
      if (!sec) {
        sec = el('details', { class: 'tag-group', 'data-group': name }, el('summary', {}, el('span', { class: 'group-name', text: name }), el('span', { class: 'group-count' })), el('div', { class: 'grid' }));
        sec.open = true;
      }
      (sec.querySelector('.group-count') as HTMLElement).textContent = String(list.length);
      const grid = sec.querySelector('.grid') as HTMLElement;
      const cards: HTMLElement[] = [];
      for (const tag of list) {
        let c = this.charts.get(tag);
        if (!c) {
          c = new ScalarChart(this, tag);
          this.charts.set(tag, c);
          const chart = c;
          this.lazy.observe(c.el, (v) => chart.setVisible(v));
        }
        cards.push(c.el);
      }
      grid.replaceChildren(...cards);
      sections.push(sec);
    }
    this.groupsEl.replaceChildren(...sections);
    if (!tags.length) {
      this.groupsEl.append(el('p', { class: 'message empty', text: all.length ? 'No tag matches the filter.' : 'No scalars.' }));
    }
  }

  private rebuildAll() { for (const c of this.charts.values()) c.rebuild(); }

  update() { for (const c of this.charts.values()) c.reload(); }

  refresh() {
    this.renderCards();
    for (const c of this.charts.values()) c.reload();
  }

  destroy() {
    this.lazy.disconnect();
    this.resize.disconnect();
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}

interface Drawn {
  run: string;
  color: string;
  /** A baseline: dashed, named in the chart's legend. */
  baseline: boolean;
  s: Series;
  xs: Float64Array; // x of each point, in x order
  order: Uint32Array | null; // point index of each x position (null: same as step order)
  raw: (number | null)[];
  smooth: (number | null)[];
  smoothVals: Float64Array; // in x order, non-finite kept
  stepX: (step: number) => number;
}

class ScalarChart {
  el: HTMLElement;
  private plotEl: HTMLElement;
  private tip: HTMLElement;
  private note: HTMLElement;
  private legend: HTMLElement;
  private dlMenu: HTMLElement;
  private u: uPlot | null = null;
  private visible = false;
  private stale = true;
  private loading = 0;
  /** refined: the chart has had its data at full width once (see load). */
  private refined = false;
  private drawn: Drawn[] = [];
  private runs: string[] = [];
  private data = new Map<string, Series>();
  private full = new Map<string, Series>(); // unzoomed data, for relative-time bases and resets
  private zoom: [number, number] | null = null; // in x units
  private hovered = false;
  private structure = '';

  constructor(private view: ScalarsView, readonly tag: string) {
    this.plotEl = el('div', { class: 'plot' });
    this.tip = el('div', { class: 'tooltip' });
    this.tip.hidden = true;
    this.note = el('span', { class: 'chart-note' });
    this.legend = el('div', { class: 'chart-legend' });
    this.legend.hidden = true;
    const png = el('button', { type: 'button', class: 'btn small png', title: 'Download the chart as PNG', text: 'PNG' });
    png.addEventListener('click', () => this.png());
    this.dlMenu = el('div', { class: 'dl-menu' });
    const dl = el('details', { class: 'dl' }, el('summary', { class: 'btn small', title: 'Download the data at full resolution', text: 'Data' }), this.dlMenu);
    dl.addEventListener('toggle', () => { if (dl.open) this.fillDownloads(); });
    this.el = el('div', { class: 'chart card', 'data-tag': tag, 'data-state': 'idle', 'data-series': '0' },
      el('div', { class: 'chart-head' }, el('span', { class: 'chart-title', title: tag, text: tag }), this.note,
        el('span', { class: 'chart-actions' }, png, dl)),
      this.legend,
      el('div', { class: 'plot-wrap' }, this.plotEl, this.tip),
    );
    const info = this.view.app.tagsFor('scalars', false).get(tag);
    if (info?.length) {
      const d = this.view.app.tagInfo(info[0], tag)?.description;
      if (d) this.el.title = d;
    }
  }

  setVisible(v: boolean) {
    this.visible = v;
    if (v && this.stale) this.load();
  }

  reload() {
    this.stale = true;
    if (this.visible) this.load();
  }

  rebuild() {
    this.structure = '';
    this.zoom = null;
    if (this.data.size || !this.stale) this.draw(); else if (this.visible) this.load();
  }

  private width(): number {
    return Math.max(200, Math.floor(this.plotEl.clientWidth || this.el.clientWidth || 400));
  }

  /**
   * load fetches every visible run that has the tag, at the current zoom:
   * one request for the chart (two when zoomed: the full range, cached, is
   * needed to map the zoom to steps). A chart's first load of many points
   * (many runs) is progressive: a coarse query of about COARSE_POINTS
   * points draws it, then the full-width query redraws it once the other
   * charts' coarse queries are out.
   */
  private async load(refine = false) {
    this.stale = false;
    const my = ++this.loading;
    const app = this.view.app;
    const runs = app.visibleRuns().filter((r) => app.tagInfo(r, this.tag)?.plugin === 'scalars');
    const width = this.width();
    let qw = width;
    if (!this.refined && !this.zoom) {
      // points of a full-width answer: up to 4 a column (first, min, max, last) and a band
      let est = 0;
      for (const r of runs) est += Math.min(5 * width, app.tagInfo(r, this.tag)?.count ?? 0);
      if (est > COARSE_POINTS) qw = Math.max(32, Math.floor(width * COARSE_POINTS / est));
    }
    if (qw === width) this.refined = true;
    if (!refine) this.el.dataset.state = 'loading';
    try {
      const full = await this.view.series(this.tag, runs, qw, undefined, undefined, refine ? 0 : 1);
      let data = full;
      if (this.zoom && runs.length) {
        // one step range for every run: the union of each run's
        let a = Infinity, b = -Infinity;
        for (const run of runs) {
          const f = full.get(run);
          if (!f) continue;
          const [ra, rb] = this.stepRange(run, f, this.zoom);
          a = Math.min(a, ra);
          b = Math.max(b, rb);
        }
        if (a <= b) data = await this.view.series(this.tag, runs, qw, a, b, 2);
      }
      if (my !== this.loading) return;
      this.runs = runs;
      this.full = new Map();
      this.data = new Map();
      for (const run of runs) {
        const f = full.get(run);
        if (!f) continue;
        this.full.set(run, f);
        this.data.set(run, data.get(run) ?? f);
      }
      this.draw();
      if (qw < width) {
        // then the full width, after the coarse queries of the charts in view
        this.refined = true;
        if (this.visible) this.load(true); else this.stale = true;
      }
    } catch (e) {
      if (my !== this.loading) return;
      this.el.dataset.state = 'error';
      this.note.textContent = 'error: ' + (e as Error).message;
      this.stale = true;
    }
  }

  /** stepRange converts an x range to the run's step range to ask for. */
  private stepRange(run: string, full: Series, [x0, x1]: [number, number]): [number, number] {
    const mode = this.view.app.state.x;
    if (mode === 'step') return [Math.floor(x0), Math.ceil(x1)];
    const base = mode === 'relative' ? this.base(run, full) : 0;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < full.step.length; i++) {
      const x = full.wall[i] - base;
      if (x >= x0 && x <= x1) { lo = Math.min(lo, full.step[i]); hi = Math.max(hi, full.step[i]); }
    }
    if (lo === Infinity) {
      // no sampled point inside: the steps around the range
      const i = nearest(full.wall.map((w) => w - base), (x0 + x1) / 2);
      lo = hi = i >= 0 ? full.step[i] : 0;
    }
    // widen to the neighbouring sampled points so the line reaches the edges
    const i0 = lowerBound(full.step, lo), i1 = lowerBound(full.step, hi);
    return [full.step[Math.max(0, i0 - 1)] ?? lo, full.step[Math.min(full.step.length - 1, i1 + 1)] ?? hi];
  }

  private base(run: string, full?: Series): number {
    const w = this.view.app.runWall.get(run);
    if (w !== undefined) return w;
    const f = full ?? this.full.get(run);
    if (f && f.wall.length) {
      let m = Infinity;
      for (let i = 0; i < f.wall.length; i++) if (f.wall[i] < m) m = f.wall[i];
      return m;
    }
    return 0;
  }

  /** prepare turns the fetched series into what the chart draws. */
  private prepare() {
    const st = this.view.app.state;
    const mode = st.x;
    const logY = st.logY;
    this.drawn = [];
    for (const run of this.runs) {
      const s = this.data.get(run);
      if (!s) continue;
      const n = s.step.length;
      const base = mode === 'relative' ? this.base(run) : 0;
      let xsRaw: Float64Array;
      if (mode === 'step') xsRaw = s.step;
      else {
        xsRaw = new Float64Array(n);
        for (let i = 0; i < n; i++) xsRaw[i] = s.wall[i] - base;
      }
      let order: Uint32Array | null = null;
      for (let i = 1; i < n; i++) {
        if (xsRaw[i] < xsRaw[i - 1]) {
          order = new Uint32Array(n);
          for (let j = 0; j < n; j++) order[j] = j;
          order.sort((a, b) => xsRaw[a] - xsRaw[b]);
          break;
        }
      }
      const xs = order ? Float64Array.from(order, (j) => xsRaw[j]) : xsRaw;
      const stepX = mode === 'step' ? (step: number) => step : (step: number) => {
        const i = nearest(s.step, step);
        return i < 0 ? NaN : s.wall[i] - base;
      };
      this.drawn.push({ run, color: this.view.app.color(run), baseline: this.view.app.isBaseline(run), s, xs, order, raw: [], smooth: [], smoothVals: new Float64Array(0), stepX });
    }
    this.resmooth(logY);
  }

  private resmooth(logY = this.view.app.state.logY) {
    const w = this.view.app.state.smoothing;
    const ok = (v: number) => Number.isFinite(v) && (!logY || v > 0);
    for (const d of this.drawn) {
      const sm = smooth(d.s.value, w); // smoothing follows step order
      const n = d.xs.length;
      const raw: (number | null)[] = new Array(n);
      const smo: (number | null)[] = new Array(n);
      const sv = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const j = d.order ? d.order[i] : i;
        const v = d.s.value[j];
        raw[i] = ok(v) ? v : null;
        sv[i] = sm[j];
        smo[i] = ok(sm[j]) ? sm[j] : null;
      }
      d.raw = raw;
      d.smooth = smo;
      d.smoothVals = sv;
    }
  }

  private uData(): uPlot.AlignedData {
    const data: unknown[] = [null];
    for (const d of this.drawn) {
      data.push([d.xs, d.raw]);
      data.push([d.xs, d.smooth]);
    }
    return data as unknown as uPlot.AlignedData;
  }

  /** xExtent: the range of x over all runs' unzoomed data (or the zoom). */
  private xRange(): [number, number] {
    if (this.zoom) return this.zoom;
    let lo = Infinity, hi = -Infinity;
    for (const d of this.drawn) {
      if (!d.xs.length) continue;
      lo = Math.min(lo, d.xs[0]);
      hi = Math.max(hi, d.xs[d.xs.length - 1]);
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    return [lo, hi];
  }

  private yRange(): [number, number] {
    const [x0, x1] = this.xRange();
    const logY = this.view.app.state.logY;
    const band = this.view.app.state.band;
    let lo = Infinity, hi = -Infinity;
    const take = (v: number | null) => {
      if (v == null || !Number.isFinite(v) || (logY && v <= 0)) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    };
    for (const d of this.drawn) {
      const i0 = lowerBound(d.xs, x0), i1 = lowerBound(d.xs, x1 + 1e-9 * Math.abs(x1));
      for (let i = Math.max(0, i0 - 1); i < Math.min(d.xs.length, i1 + 1); i++) { take(d.raw[i]); take(d.smooth[i]); }
      if (band) {
        for (let i = 0; i < d.s.envStep.length; i++) {
          const x = d.stepX(d.s.envStep[i]);
          if (x >= x0 && x <= x1) { take(d.s.envMin[i]); take(d.s.envMax[i]); }
        }
      }
    }
    if (lo === Infinity) return logY ? [0.1, 10] : [0, 1];
    if (logY) {
      const a = Math.log10(lo), b = Math.log10(hi);
      const pad = Math.max((b - a) * 0.05, 0.05);
      return [Math.pow(10, a - pad), Math.pow(10, b + pad)];
    }
    if (lo === hi) {
      const p = Math.abs(lo) * 0.1 || 1;
      return [lo - p, hi + p];
    }
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  private draw() {
    const t0 = performance.now();
    this.prepare();
    const st = this.view.app.state;
    this.el.dataset.series = String(this.drawn.length);
    // the runs drawn, for tests and tools (small charts only)
    this.el.dataset.runs = this.drawn.length <= 100 ? JSON.stringify(this.drawn.map((d) => d.run)) : '';
    this.el.dataset.baselines = JSON.stringify(this.drawn.filter((d) => d.baseline).map((d) => d.run));
    this.drawLegend();
    let nf = 0;
    for (const d of this.drawn) nf += d.s.nonfinite.length;
    this.note.textContent = nf ? `${nf} non-finite` : '';
    this.note.classList.toggle('warn', nf > 0);
    this.note.title = nf ? 'NaN or infinite values: marked on the chart\'s top (NaN, +Inf) and bottom (-Inf) edges' : '';
    if (!this.drawn.length) {
      this.u?.destroy();
      this.u = null;
      this.structure = '';
      this.plotEl.replaceChildren(el('div', { class: 'chart-empty', text: 'No selected run has this tag.' }));
      this.el.dataset.state = 'empty';
      return;
    }
    const structure = this.structureKey();
    if (this.u && structure === this.structure) {
      this.u.setData(this.uData(), true);
    } else {
      this.u?.destroy();
      this.plotEl.replaceChildren();
      this.structure = structure;
      this.u = new uPlot(this.options(), this.uData(), this.plotEl);
    }
    this.el.dataset.state = 'drawn';
    this.el.dataset.zoom = this.zoom ? this.zoom.join(',') : '';
    this.el.dataset.points = String(this.pointsInView());
    probe.chartsDrawn++;
    if (!probe.firstChartMs) {
      probe.firstChartMs = performance.now();
      mark('#draw', t0);
    }
  }

  /** structureKey: what needs a new uPlot (not only new data) when it changes. */
  private structureKey(): string {
    const st = this.view.app.state;
    return JSON.stringify([this.drawn.map((d) => [d.run, d.color, d.baseline]), st.x, st.logY, st.smoothing > 0]);
  }

  /** drawLegend names the baselines drawn, with their dashed line. */
  private drawLegend() {
    const base = this.drawn.filter((d) => d.baseline);
    this.legend.hidden = !base.length;
    this.legend.replaceChildren(...base.map((d) => el('span', { class: 'legend-item baseline', 'data-run': d.run, title: 'baseline: ' + d.run },
      el('span', { class: 'legend-dash', style: `border-top-color:${d.color}` }), el('span', { class: 'legend-name', text: d.run }))));
  }

  /** pointsInView counts the drawn raw points inside the x range. */
  private pointsInView(): number {
    const [x0, x1] = this.xRange();
    let n = 0;
    for (const d of this.drawn) n += Math.max(0, lowerBound(d.xs, x1 + 1e-9 * Math.abs(x1)) - lowerBound(d.xs, x0));
    return n;
  }

  private options(): uPlot.Options {
    const st = this.view.app.state;
    const smoothing = st.smoothing > 0;
    const series: uPlot.Series[] = [{}];
    for (const d of this.drawn) {
      const facets = [{ scale: 'x', auto: true }, { scale: 'y', auto: true }];
      // a baseline: dashed and wider, drawn whatever the filter
      const dash = d.baseline ? [6 * uPlot.pxRatio, 4 * uPlot.pxRatio] : undefined;
      series.push({ label: d.run, stroke: smoothing ? withAlpha(d.color, 0.25) : d.color, width: d.baseline && !smoothing ? 2 : 1, dash, points: { show: false }, paths: uPlot.paths.linear!(), facets } as uPlot.Series);
      series.push({ label: d.run + ' (smoothed)', stroke: d.color, width: d.baseline ? 2 : 1.5, dash, points: { show: false }, paths: uPlot.paths.linear!(), facets, show: smoothing } as uPlot.Series);
    }
    return {
      mode: 2,
      width: this.width(),
      height: HEIGHT,
      legend: { show: false },
      pxAlign: 0,
      padding: padding(),
      scales: {
        x: { time: st.x === 'wall', auto: true, range: () => this.xRange() },
        y: { distr: st.logY ? 3 : 1, log: 10, auto: true, range: () => this.yRange() },
      },
      axes: [xAxis(st.x), yAxis(st.logY ? 'log' : 'value')],
      series,
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: { key: SYNC_KEY + ':' + st.x, setSeries: false, scales: ['x', null] },
        points: { show: false },
        focus: { prox: -1 },
      } as uPlot.Cursor,
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.onCursor(u)],
        drawAxes: [(u) => this.drawBands(u)],
        draw: [(u) => this.drawMarkers(u), (u) => recordAxes(u, this.el)],
        ready: [(u) => this.onReady(u)],
      },
    };
  }

  private onReady(u: uPlot) {
    u.over.addEventListener('dblclick', () => this.resetZoom());
    u.over.addEventListener('mouseenter', () => { this.hovered = true; });
    u.over.addEventListener('mouseleave', () => { this.hovered = false; this.tip.hidden = true; });
  }

  private onSelect(u: uPlot) {
    const sel = u.select;
    if (sel.width < 4) return;
    const x0 = u.posToVal(sel.left, 'x'), x1 = u.posToVal(sel.left + sel.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoomTo([x0, x1]);
  }

  zoomTo(r: [number, number]) {
    this.zoom = r;
    if (this.u) this.u.setData(this.u.data, true); // show the range right away with what we have
    this.stale = true;
    this.load(); // then ask for that step range at full width
  }

  resetZoom() {
    if (!this.zoom) return;
    this.zoom = null;
    this.stale = true;
    this.load();
  }

  restyle() {
    if (!this.u || !this.drawn.length) return;
    if (this.structureKey() !== this.structure) { this.draw(); return; }
    this.resmooth();
    this.u.setData(this.uData(), true);
  }

  redraw() { if (this.u) this.u.setData(this.u.data, true); }

  resize() { if (this.u) this.u.setSize({ width: this.width(), height: HEIGHT }); }

  private drawBands(u: uPlot) {
    if (!this.view.app.state.band) return;
    const ctx = u.ctx;
    const logY = this.view.app.state.logY;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (const d of this.drawn) {
      const n = d.s.envStep.length;
      if (n < 2) continue;
      const xs: number[] = [], top: number[] = [], bot: number[] = [];
      for (let i = 0; i < n; i++) {
        let lo = d.s.envMin[i], hi = d.s.envMax[i];
        if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
        if (logY) { if (hi <= 0) continue; if (lo <= 0) lo = u.scales.y.min!; }
        const x = d.stepX(d.s.envStep[i]);
        if (!Number.isFinite(x)) continue;
        xs.push(u.valToPos(x, 'x', true));
        top.push(u.valToPos(hi, 'y', true));
        bot.push(u.valToPos(lo, 'y', true));
      }
      if (xs.length < 2) continue;
      ctx.beginPath();
      ctx.moveTo(xs[0], top[0]);
      for (let i = 1; i < xs.length; i++) ctx.lineTo(xs[i], top[i]);
      for (let i = xs.length - 1; i >= 0; i--) ctx.lineTo(xs[i], bot[i]);
      ctx.closePath();
      ctx.fillStyle = withAlpha(d.color, 0.16);
      ctx.fill();
    }
    ctx.restore();
  }

  private drawMarkers(u: uPlot) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const pr = uPlot.pxRatio;
    const sz = 5 * pr;
    ctx.save();
    // a sparse series (a few logged values) gets dots: a line alone can be invisible
    const smoothing = this.view.app.state.smoothing > 0;
    for (const d of this.drawn) {
      if (!(d.xs.length * 12 < width / pr)) continue;
      const ys = smoothing ? d.smooth : d.raw;
      ctx.fillStyle = d.color;
      for (let i = 0; i < d.xs.length; i++) {
        const y = ys[i];
        if (y == null) continue;
        const cx = u.valToPos(d.xs[i], 'x', true), cy = u.valToPos(y, 'y', true);
        if (cx < left - 1 || cx > left + width + 1) continue;
        ctx.beginPath();
        ctx.arc(cx, cy, 3 * pr, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    for (const d of this.drawn) {
      for (const m of d.s.nonfinite) {
        const xv = d.stepX(m.step);
        const x = u.valToPos(xv, 'x', true);
        if (!(x >= left - 1 && x <= left + width + 1)) continue;
        const down = m.kind === '-Infinity';
        const y = down ? top + height : top;
        ctx.beginPath();
        if (down) { ctx.moveTo(x - sz, y); ctx.lineTo(x + sz, y); ctx.lineTo(x, y - sz * 1.6); }
        else { ctx.moveTo(x - sz, y); ctx.lineTo(x + sz, y); ctx.lineTo(x, y + sz * 1.6); }
        ctx.closePath();
        ctx.fillStyle = d.color;
        ctx.strokeStyle = '#b00020';
        ctx.lineWidth = pr;
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  private onCursor(u: uPlot) {
    const left = u.cursor.left ?? -1;
    if (!this.hovered || left < 0 || !this.drawn.length) { this.tip.hidden = true; return; }
    const xv = u.posToVal(left, 'x');
    const yv = u.posToVal(u.cursor.top ?? 0, 'y');
    type Row = { d: Drawn; i: number; dist: number };
    let rows: Row[] = [];
    for (const d of this.drawn) {
      const i = nearest(d.xs, xv);
      if (i < 0) continue;
      const v = d.smoothVals[i];
      rows.push({ d, i, dist: Number.isFinite(v) ? Math.abs(v - yv) : Infinity });
    }
    const total = rows.length;
    const MAX = 24;
    if (rows.length > MAX) rows = rows.sort((a, b) => a.dist - b.dist).slice(0, MAX);
    rows.sort((a, b) => (b.d.smoothVals[b.i] || -Infinity) - (a.d.smoothVals[a.i] || -Infinity));
    const near = (d: Drawn) => d.s.nonfinite.find((m) => Math.abs(u.valToPos(d.stepX(m.step), 'x') - left) < 4);
    const smoothing = this.view.app.state.smoothing > 0;
    const tbody = el('tbody');
    for (const { d, i } of rows) {
      const j = d.order ? d.order[i] : i;
      const tr = el('tr', { class: d.baseline ? 'baseline' : '' },
        el('td', {}, el('span', { class: 'swatch' + (d.baseline ? ' dashed' : ''), style: `background:${d.color}` })),
        el('td', { class: 'tip-run', text: d.run + (d.baseline ? ' (baseline)' : '') }),
      );
      if (smoothing) tr.append(el('td', { class: 'num tip-smoothed', text: fmtValue(d.smoothVals[i]) }));
      tr.append(el('td', { class: 'num tip-value', text: fmtValue(d.s.value[j]) }), el('td', { class: 'num tip-step', text: fmtStep(d.s.step[j]) }));
      tr.append(el('td', { class: 'num muted tip-time', text: fmtWall(d.s.wall[j]) }), el('td', { class: 'num muted tip-relative', text: fmtDuration(d.s.wall[j] - this.base(d.run), 0.001) }));
      const m = near(d);
      if (m) tr.append(el('td', { class: 'warn', text: `${m.kind} at step ${fmtStep(m.step)}` }));
      tbody.append(tr);
    }
    const head = el('tr', {}, el('th'), el('th', { text: 'Run' }));
    if (smoothing) head.append(el('th', { text: 'Smoothed' }));
    head.append(el('th', { text: 'Value' }), el('th', { text: 'Step' }), el('th', { text: 'Time' }), el('th', { text: 'Relative' }));
    const table = el('table', {}, el('thead', {}, head), tbody);
    this.tip.replaceChildren(table);
    if (total > rows.length) this.tip.append(el('div', { class: 'muted', text: `${total - rows.length} more runs (closest to the cursor shown)` }));
    // the notes of the runs shown (the server's sanitised HTML), a few
    const notes = rows.filter(({ d }) => this.view.app.runInfo(d.run)?.note_html).slice(0, 3);
    for (const { d } of notes) {
      this.tip.append(el('div', { class: 'tip-note', 'data-run': d.run },
        el('span', { class: 'swatch', style: `background:${d.color}` }), el('strong', { text: d.run }), noteElement(this.view.app.runInfo(d.run), 'note md')));
    }
    this.tip.hidden = false;
    // place it beside the cursor, inside the card
    const wrap = this.plotEl.getBoundingClientRect();
    const tw = this.tip.offsetWidth, th = this.tip.offsetHeight;
    const ox = u.over.offsetLeft, oy = u.over.offsetTop;
    let x = ox + left + 16;
    if (x + tw > wrap.width) x = Math.max(0, ox + left - tw - 16);
    const y = Math.max(0, Math.min(oy + (u.cursor.top ?? 0) - th / 2, HEIGHT - th));
    this.tip.style.transform = `translate(${x}px, ${y}px)`;
  }

  private fillDownloads() {
    const api = this.view.app.api;
    const runs = this.runs.length ? this.runs : this.view.app.visibleRuns().filter((r) => this.view.app.tagInfo(r, this.tag));
    const safe = (s: string) => s.replace(/[^\w.-]+/g, '_');
    this.dlMenu.replaceChildren(...runs.map((run) => el('div', { class: 'dl-row' },
      el('span', { class: 'swatch', style: `background:${this.view.app.color(run)}` }),
      el('span', { class: 'dl-run', text: run, title: run }),
      el('a', { href: api.url('/export/scalars', { run, tag: this.tag, format: 'csv' }), download: `${safe(run)}-${safe(this.tag)}.csv`, class: 'dl-csv', text: 'CSV' }),
      el('a', { href: api.url('/export/scalars', { run, tag: this.tag, format: 'json' }), download: `${safe(run)}-${safe(this.tag)}.json`, class: 'dl-json', text: 'JSON' }),
    )));
    if (!runs.length) this.dlMenu.append(el('div', { class: 'muted', text: 'No run selected.' }));
  }

  /** png renders the chart (axes included) on white with its title. */
  pngDataURL(): string {
    if (!this.u) return '';
    const src = this.u.ctx.canvas;
    const pr = uPlot.pxRatio;
    const head = Math.round(22 * pr);
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height + head;
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#222';
    ctx.font = `${Math.round(13 * pr)}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.fillText(this.tag, 8 * pr, head / 2);
    ctx.drawImage(src, 0, head);
    return c.toDataURL('image/png');
  }

  private png() {
    const url = this.pngDataURL();
    if (!url) return;
    const a = el('a', { href: url, download: this.tag.replace(/[^\w.-]+/g, '_') + '.png' });
    document.body.append(a);
    a.click();
    a.remove();
  }

  destroy() {
    this.loading++;
    this.u?.destroy();
    this.u = null;
  }
}
