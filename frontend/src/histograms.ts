// Histograms (offset / overlay, drawn on a canvas) and distributions
// (percentile bands at the normal-CDF basis points, drawn with uPlot).
import uPlot from 'uplot';
import { HistogramItem, num } from './api';
import { BoardApp, Lazy, View, groupTags } from './board';
import { compileFilter, el, fmtNum, withAlpha } from './format';

type Hist = { step: number; wall: number; buckets: [number, number, number][] };

function parseItems(items: HistogramItem[]): Hist[] {
  return (items ?? []).map((it) => ({
    step: num(it.step), wall: num(it.wall_time),
    buckets: (it.buckets ?? []).map((b) => [num(b[0]), num(b[1]), num(b[2])] as [number, number, number]),
  })).sort((a, b) => a.step - b.step);
}

/** A card per (tag, run), created lazily, shared by both tabs. */
abstract class PerRunView implements View {
  protected lazy = new Lazy();
  protected cards = new Map<string, { el: HTMLElement; visible: boolean; stale: boolean; draw: () => Promise<void>; destroy?: () => void }>();
  protected groupsEl: HTMLElement;
  protected filterInput: HTMLInputElement;
  private cache = new Map<string, Promise<unknown>>();
  private cacheGen = -1;

  constructor(protected app: BoardApp, protected content: HTMLElement, protected toolbar: HTMLElement, protected plugin: string, protected cardClass: string) {
    this.filterInput = el('input', { id: 'tag-filter', type: 'search', placeholder: 'Filter tags (regex)', autocomplete: 'off', spellcheck: 'false' });
    this.filterInput.value = app.state.tagFilter;
    let t = 0;
    this.filterInput.addEventListener('input', () => {
      clearTimeout(t);
      t = window.setTimeout(() => { app.state.tagFilter = this.filterInput.value; app.saveState(); this.render(); }, 150);
    });
    toolbar.append(el('label', { class: 'field grow' }, this.filterInput));
    this.groupsEl = el('div', { class: 'groups' });
    content.append(this.groupsEl);
  }

  protected fetch<T>(path: string, run: string, tag: string): Promise<T> {
    if (this.cacheGen !== this.app.generation) { this.cache.clear(); this.cacheGen = this.app.generation; }
    const key = path + '\u0000' + run + '\u0000' + tag;
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = this.app.limiter.schedule(() => this.app.api.get<T>(path, { run, tag }), 1);
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  protected abstract makeCard(tag: string, run: string): { el: HTMLElement; draw: () => Promise<void>; destroy?: () => void };

  protected render() {
    const f = compileFilter(this.app.state.tagFilter, true);
    this.filterInput.classList.toggle('invalid', !!f.error);
    const byTag = this.app.tagsFor(this.plugin);
    const tags = [...byTag.keys()].filter((t) => f.test(t));
    const want = new Set<string>();
    const sections: HTMLElement[] = [];
    for (const [group, list] of groupTags(tags)) {
      const grid = el('div', { class: 'grid' });
      for (const tag of list) {
        for (const run of byTag.get(tag)!) {
          const key = tag + '\u0000' + run;
          want.add(key);
          let c = this.cards.get(key);
          if (!c) {
            const made = this.makeCard(tag, run);
            const card = { ...made, visible: false, stale: true };
            this.cards.set(key, card);
            this.lazy.observe(made.el, (v) => {
              card.visible = v;
              if (v && card.stale) { card.stale = false; card.draw().catch((e) => this.fail(card.el, e)); }
            });
            c = card;
          }
          grid.append(c.el);
        }
      }
      const sec = el('details', { class: 'tag-group', 'data-group': group }, el('summary', {}, el('span', { class: 'group-name', text: group }), el('span', { class: 'group-count', text: String(list.length) })), grid);
      sec.open = true;
      sections.push(sec);
    }
    for (const [key, c] of this.cards) {
      if (!want.has(key)) { this.lazy.unobserve(c.el); c.destroy?.(); this.cards.delete(key); }
    }
    this.groupsEl.replaceChildren(...sections);
    if (!sections.length) this.groupsEl.append(el('p', { class: 'message empty', text: byTag.size ? 'No tag matches the filter.' : 'No selected run has data here.' }));
  }

  protected fail(card: HTMLElement, e: unknown) {
    card.dataset.state = 'error';
    card.querySelector('.card-body')?.replaceChildren(el('div', { class: 'error', text: 'error: ' + ((e as Error)?.message ?? e) }));
  }

  update() { this.render(); }

  refresh() {
    this.render();
    for (const c of this.cards.values()) {
      c.stale = true;
      if (c.visible) { c.stale = false; c.draw().catch((e) => this.fail(c.el, e)); }
    }
  }

  destroy() {
    this.lazy.disconnect();
    for (const c of this.cards.values()) c.destroy?.();
    this.cards.clear();
  }
}

export function cardHead(app: BoardApp, tag: string, run: string, ...extra: Node[]): HTMLElement {
  return el('div', { class: 'chart-head' },
    el('span', { class: 'swatch', style: `background:${app.color(run)}` }),
    el('span', { class: 'chart-title', title: `${tag} · ${run}`, text: tag }),
    el('span', { class: 'chart-run', title: run, text: run }),
    ...extra);
}

export { PerRunView };

// ---- histograms -----------------------------------------------------------

const HIST_H = 240;
const BINS = 30;
const MAX_SLICES = 51;

export class HistogramsView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'histograms', 'hist-card');
    const mode = el('select', { id: 'hist-mode' }, el('option', { value: 'offset', text: 'Offset' }), el('option', { value: 'overlay', text: 'Overlay' }));
    mode.value = app.state.histMode;
    mode.addEventListener('change', () => {
      app.state.histMode = mode.value as 'offset' | 'overlay';
      app.saveState();
      for (const c of this.cards.values()) { c.stale = true; if (c.visible) { c.stale = false; c.draw(); } }
    });
    toolbar.append(el('label', { class: 'field' }, 'Mode ', mode));
    this.render();
  }

  protected makeCard(tag: string, run: string) {
    const canvas = el('canvas', { class: 'hist-canvas' });
    const body = el('div', { class: 'card-body' }, canvas);
    const card = el('div', { class: 'card hist-card', 'data-tag': tag, 'data-run': run, 'data-state': 'idle' }, cardHead(this.app, tag, run), body);
    const draw = async () => {
      const r = await this.fetch<{ items: HistogramItem[] }>('/histograms', run, tag);
      const items = parseItems(r.items);
      drawHistograms(canvas, items, this.app.color(run), this.app.state.histMode, body.clientWidth || 400);
      card.dataset.state = items.length ? 'drawn' : 'empty';
    };
    return { el: card, draw };
  }
}

/** rebin spreads each bucket's count uniformly over BINS equal bins. */
function rebin(h: Hist, lo: number, hi: number): Float64Array {
  const out = new Float64Array(BINS);
  const w = (hi - lo) / BINS;
  for (const [l, r, c] of h.buckets) {
    if (!(c > 0) || !Number.isFinite(l) || !Number.isFinite(r)) continue;
    if (r <= l) {
      const i = Math.min(BINS - 1, Math.max(0, Math.floor((l - lo) / w)));
      out[i] += c;
      continue;
    }
    const i0 = Math.max(0, Math.floor((l - lo) / w)), i1 = Math.min(BINS - 1, Math.floor((r - lo) / w));
    for (let i = i0; i <= i1; i++) {
      const a = Math.max(l, lo + i * w), b = Math.min(r, lo + (i + 1) * w);
      if (b > a) out[i] += (c * (b - a)) / (r - l);
    }
  }
  return out;
}

function range(items: Hist[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const h of items) for (const [l, r, c] of h.buckets) {
    if (!(c > 0)) continue;
    if (Number.isFinite(l)) lo = Math.min(lo, l);
    if (Number.isFinite(r)) hi = Math.max(hi, r);
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

export function drawHistograms(canvas: HTMLCanvasElement, all: Hist[], color: string, mode: 'offset' | 'overlay', width: number) {
  const pr = window.devicePixelRatio || 1;
  canvas.style.width = width + 'px';
  canvas.style.height = HIST_H + 'px';
  canvas.width = Math.round(width * pr);
  canvas.height = Math.round(HIST_H * pr);
  const ctx = canvas.getContext('2d')!;
  ctx.scale(pr, pr);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, HIST_H);
  ctx.font = '11px system-ui, sans-serif';
  if (!all.length) { ctx.fillStyle = '#888'; ctx.fillText('No data', 10, 20); return; }
  // evenly thin to MAX_SLICES, keeping the last
  let items = all;
  if (all.length > MAX_SLICES) {
    items = [];
    for (let i = 0; i < MAX_SLICES; i++) items.push(all[Math.round((i * (all.length - 1)) / (MAX_SLICES - 1))]);
  }
  const [lo, hi] = range(items);
  const bins = items.map((h) => rebin(h, lo, hi));
  let maxC = 0;
  for (const b of bins) for (const v of b) maxC = Math.max(maxC, v);
  if (maxC === 0) maxC = 1;
  const L = 10, R = mode === 'offset' ? 56 : 12, T = 10, B = 22;
  const pw = width - L - R, ph = HIST_H - T - B;
  const xOf = (i: number) => L + ((i + 0.5) / BINS) * pw;
  const n = items.length;
  const minStep = items[0].step, maxStep = items[n - 1].step;
  const sliceH = mode === 'offset' ? ph * 0.45 : ph;
  const baseOf = (k: number) => mode === 'offset'
    ? T + sliceH + (n === 1 ? ph - sliceH : ((ph - sliceH) * (items[k].step - minStep)) / Math.max(1, maxStep - minStep))
    : T + ph;
  // older slices first, so newer ones are drawn over them
  for (let k = 0; k < n; k++) {
    const b = bins[k];
    const base = baseOf(k);
    const frac = n === 1 ? 1 : k / (n - 1);
    ctx.beginPath();
    ctx.moveTo(L, base);
    for (let i = 0; i < BINS; i++) ctx.lineTo(xOf(i), base - (b[i] / maxC) * sliceH);
    ctx.lineTo(L + pw, base);
    if (mode === 'offset') {
      ctx.closePath();
      ctx.fillStyle = withAlpha(color, 0.1 + 0.5 * frac);
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 0.7;
      ctx.stroke();
    } else {
      ctx.strokeStyle = withAlpha(color, 0.15 + 0.85 * frac);
      ctx.lineWidth = k === n - 1 ? 1.8 : 1;
      ctx.stroke();
    }
  }
  // axes
  ctx.fillStyle = '#555';
  ctx.strokeStyle = '#ccc';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(L, T + ph + 0.5);
  ctx.lineTo(L + pw, T + ph + 0.5);
  ctx.stroke();
  ctx.textBaseline = 'top';
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    const x = L + (pw * t) / 4;
    const s = fmtNum(Number(v.toPrecision(3)));
    const w = ctx.measureText(s).width;
    ctx.fillText(s, Math.min(Math.max(0, x - w / 2), width - w), T + ph + 5);
  }
  if (mode === 'offset') {
    ctx.textBaseline = 'middle';
    const ticks = n === 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
    for (const k of ticks) ctx.fillText('step ' + items[k].step, L + pw + 4, baseOf(k));
  } else {
    ctx.textBaseline = 'top';
    ctx.fillText(`steps ${minStep}–${maxStep}`, L + 4, T);
  }
}

// ---- distributions ----------------------------------------------------------

const BASIS = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

/** percentiles: the value at each basis point, interpolating inside buckets. */
export function percentiles(buckets: [number, number, number][]): number[] {
  const bs = buckets.filter((b) => b[2] > 0);
  let total = 0;
  for (const b of bs) total += b[2];
  if (!bs.length || total <= 0) return BASIS.map(() => NaN);
  return BASIS.map((bp) => {
    if (bp === 0) return bs[0][0];
    if (bp === 10000) return bs[bs.length - 1][1];
    const target = (total * bp) / 10000;
    let cum = 0;
    for (const [l, r, c] of bs) {
      if (cum + c >= target) return l + ((r - l) * (target - cum)) / c;
      cum += c;
    }
    return bs[bs.length - 1][1];
  });
}

export class DistributionsView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'histograms', 'dist-card');
    this.render();
  }

  protected makeCard(tag: string, run: string) {
    const plot = el('div', { class: 'plot' });
    const body = el('div', { class: 'card-body' }, plot);
    const card = el('div', { class: 'card dist-card', 'data-tag': tag, 'data-run': run, 'data-state': 'idle' }, cardHead(this.app, tag, run), body);
    let u: uPlot | null = null;
    const draw = async () => {
      const r = await this.fetch<{ items: HistogramItem[] }>('/histograms', run, tag);
      const items = parseItems(r.items);
      const xs = items.map((h) => h.step);
      const cols = BASIS.map(() => [] as number[]);
      for (const h of items) percentiles(h.buckets).forEach((v, i) => cols[i].push(v));
      const color = this.app.color(run);
      const series: uPlot.Series[] = [{ label: 'step' }];
      BASIS.forEach((bp, i) => series.push({
        label: (bp / 100).toFixed(2) + '%', stroke: i === 4 ? color : withAlpha(color, 0.35), width: i === 4 ? 1.5 : 0.5, points: { show: false },
      }));
      const bands: uPlot.Band[] = [];
      for (let i = 0; i < 4; i++) bands.push({ series: [9 - i, i + 1], fill: withAlpha(color, 0.12 + i * 0.07) } as uPlot.Band);
      u?.destroy();
      plot.replaceChildren();
      u = new uPlot({
        width: body.clientWidth || 400, height: 220, legend: { show: false }, series, bands,
        scales: { x: { time: false } },
        axes: [{ stroke: '#555', grid: { stroke: '#eee' }, font: '11px system-ui, sans-serif' },
          { stroke: '#555', grid: { stroke: '#eee' }, size: 52, font: '11px system-ui, sans-serif', values: (_u, s) => s.map(fmtNum) }],
        cursor: { drag: { x: true, y: false } },
      }, [xs, ...cols] as uPlot.AlignedData, plot);
      card.dataset.state = items.length ? 'drawn' : 'empty';
    };
    return { el: card, draw, destroy: () => u?.destroy() };
  }
}
