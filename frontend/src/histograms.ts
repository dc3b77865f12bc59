// Histograms (offset / overlay, drawn on a canvas) and distributions
// (percentile bands at the normal-CDF basis points, drawn with uPlot).
import uPlot from 'uplot';
import { HistogramItem, num } from './api';
import { BoardApp, Lazy, View, groupTags } from './board';
import { AXIS_FONT, padding, recordAxes, xAxis, yAxis } from './axes';
import { compileFilter, el, fmtStep, valueTicks, withAlpha } from './format';
import { BASIS, Hist, basisLabel, histRange, niceTicks, percentiles, rebin } from './histmath';

export { percentiles };

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
  ctx.font = AXIS_FONT;
  if (!all.length) { ctx.fillStyle = '#888'; ctx.fillText('No data', 10, 20); return; }
  // evenly thin to MAX_SLICES, keeping the last
  let items = all;
  if (all.length > MAX_SLICES) {
    items = [];
    for (let i = 0; i < MAX_SLICES; i++) items.push(all[Math.round((i * (all.length - 1)) / (MAX_SLICES - 1))]);
  }
  const [lo, hi] = histRange(items);
  const bins = items.map((h) => rebin(h, lo, hi, BINS));
  let maxC = 0;
  for (const b of bins) for (const v of b) maxC = Math.max(maxC, v);
  if (maxC === 0) maxC = 1;
  const n = items.length;
  const minStep = items[0].step, maxStep = items[n - 1].step;
  // x ticks: nice values inside the range, about one per 80 px
  const { ticks: xt, incr } = niceTicks(lo, hi, Math.max(2, Math.floor(width / 80)));
  const xl = valueTicks(xt, incr);
  const xw = xl.map((s) => ctx.measureText(s).width);
  // offset mode labels three slices' steps on the right
  const stepLabels = mode === 'offset' ? (n === 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1]) : [];
  let stepW = 0;
  for (const k of stepLabels) stepW = Math.max(stepW, ctx.measureText('step ' + fmtStep(items[k].step)).width);
  const L = Math.max(10, Math.ceil((xw[0] ?? 0) / 2) + 2), T = 10, B = 22;
  const R = mode === 'offset' ? Math.ceil(stepW) + 8 : Math.max(12, Math.ceil((xw[xw.length - 1] ?? 0) / 2) + 2);
  const pw = width - L - R, ph = HIST_H - T - B;
  const xOf = (i: number) => L + ((i + 0.5) / BINS) * pw;
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
  const drawn: { labels: string[]; px: number[]; steps: string[] } = { labels: [], px: [], steps: [] };
  xt.forEach((v, t) => {
    const x = L + (pw * (v - lo)) / (hi - lo);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, T + ph);
    ctx.lineTo(x + 0.5, T + ph + 3);
    ctx.stroke();
    ctx.fillText(xl[t], x - xw[t] / 2, T + ph + 5);
    drawn.labels.push(xl[t]);
    drawn.px.push(x);
  });
  if (mode === 'offset') {
    ctx.textBaseline = 'middle';
    let lastY = -Infinity;
    // newest last: it wins over a label too close above it
    for (const k of [...stepLabels].reverse()) {
      const y = baseOf(k);
      if (Math.abs(y - lastY) < 13) continue;
      lastY = y;
      const s = 'step ' + fmtStep(items[k].step);
      ctx.fillText(s, L + pw + 4, y);
      drawn.steps.push(s);
    }
  } else {
    ctx.textBaseline = 'top';
    const s = minStep === maxStep ? `step ${fmtStep(minStep)}` : `steps ${fmtStep(minStep)}–${fmtStep(maxStep)}`;
    ctx.fillText(s, L + 4, T);
    drawn.steps.push(s);
  }
  canvas.dataset.axes = JSON.stringify({ lo, hi, ...drawn });
}

// ---- distributions ----------------------------------------------------------

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
        label: basisLabel(bp), stroke: i === 4 ? color : withAlpha(color, 0.35), width: i === 4 ? 1.5 : 0.5, points: { show: false },
      }));
      const bands: uPlot.Band[] = [];
      for (let i = 0; i < 4; i++) bands.push({ series: [9 - i, i + 1], fill: withAlpha(color, 0.12 + i * 0.07) } as uPlot.Band);
      u?.destroy();
      plot.replaceChildren();
      u = new uPlot({
        width: body.clientWidth || 400, height: 220, legend: { show: false }, series, bands, padding: padding(),
        scales: { x: { time: false } },
        axes: [xAxis('step'), yAxis('value')],
        cursor: { drag: { x: true, y: false } },
        hooks: { draw: [(u) => recordAxes(u, card)] },
      }, [xs, ...cols] as uPlot.AlignedData, plot);
      card.dataset.state = items.length ? 'drawn' : 'empty';
    };
    return { el: card, draw, destroy: () => u?.destroy() };
  }
}
