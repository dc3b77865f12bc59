// Graphs: a run's op graph, tagged op graphs and Keras models, drawn as
// TensorBoard draws them: name scopes are groups that open on click,
// edges between groups are bundled, an op's details show on selection,
// ops are found by name, and the drawing pans and zooms. Layout: dagre,
// one level at a time (graphlayout.ts); model: graphmodel.ts.
import './graphs.css';
import { HttpError } from './api';
import { BoardApp, View } from './board';
import { el } from './format';
import { GraphResponse, Hierarchy } from './graphmodel';
import { HEADER, LEAF_H, Layouts, PAD } from './graphlayout';

/** A graph a run holds: its run graph, or a tag's op graph or Keras model. */
interface Source { run: string; tag: string; conceptual: boolean; label: string }

/** The plugins whose tags hold graphs, and what each is called. */
const PLUGINS: Record<string, { conceptual: boolean; what: string }> = {
  graph_keras_model: { conceptual: true, what: 'Keras model' },
  graph_run_metadata: { conceptual: false, what: 'op graph' },
  graph_run_metadata_graph: { conceptual: false, what: 'op graph' },
};
const RUN_GRAPH_TAG = '__run_graph__';

/** The test and benchmark hooks of the Graphs tab. */
export interface GraphProbe {
  /** loads counts graphs drawn for the first time, settled those drawn
   * or failed; paints counts drawings. */
  loads: number;
  settled: number;
  paints: number;
  /** firstPaintMs: page time (since navigation) when the first graph was
   * on screen; loadMs: from asking for it to on screen. */
  firstPaintMs: number;
  loadMs: number;
  /** expands counts groups opened or closed; expandMs the last one's time
   * from the click to on screen. */
  expands: number;
  expandMs: number;
  /** drawn: nodes in the drawing; ops: ops in the graph. */
  drawn: number;
  ops: number;
  error: string;
  /** steps of the last load: ms to the answer parsed, to the model
   * built, to the drawing laid out and built; and the last expansion's
   * ms to laid out and built (the rest is the browser's rendering). */
  steps: { fetch: number; model: number; draw: number; expandDraw: number };
}

export const graphProbe: GraphProbe = { loads: 0, settled: 0, paints: 0, firstPaintMs: 0, loadMs: 0, expands: 0, expandMs: 0, drawn: 0, ops: 0, error: '', steps: { fetch: 0, model: 0, draw: 0, expandDraw: 0 } };
(window as unknown as { __tbgraph: GraphProbe }).__tbgraph = graphProbe;

const SVG = 'http://www.w3.org/2000/svg';

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** afterPaint calls f once the current changes are on screen. */
function afterPaint(f: () => void) { requestAnimationFrame(() => requestAnimationFrame(f)); }

function clip(s: string, max: number): string { return s.length > max ? s.slice(0, max - 1) + '\u2026' : s; }

export class GraphsView implements View {
  private sourceSel: HTMLSelectElement;
  private search: HTMLInputElement;
  private results: HTMLElement;
  private wrap: HTMLElement;
  private svg: SVGSVGElement;
  private viewport: SVGGElement;
  private info: HTMLElement;
  private msg: HTMLElement;
  private sources: Source[] = [];
  private current = '';
  private h: Hierarchy | null = null;
  private layouts: Layouts | null = null;
  private selected = -1;
  private boxes = new Map<number, { x: number; y: number; w: number; h: number }>();
  private view = { x: 0, y: 0, k: 1 };
  private seq = 0;
  private destroyed = false;

  constructor(private app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    this.sourceSel = el('select', { id: 'graph-source', 'aria-label': 'Graph' });
    this.sourceSel.addEventListener('change', () => this.load());
    this.search = el('input', { id: 'graph-search', type: 'search', placeholder: 'Find a node by name', autocomplete: 'off' });
    this.results = el('div', { id: 'graph-results', class: 'graph-results', role: 'listbox', hidden: '' });
    this.search.addEventListener('input', () => this.showResults());
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { (this.results.firstElementChild as HTMLElement | null)?.click(); }
      if (e.key === 'Escape') this.results.hidden = true;
    });
    const fit = el('button', { id: 'graph-fit', class: 'btn', type: 'button', text: 'Fit' });
    fit.addEventListener('click', () => this.fit());
    const searchField = el('label', { class: 'field grow graph-search' }, this.search, this.results);
    toolbar.append(el('label', { class: 'field' }, 'Graph ', this.sourceSel), searchField, fit);

    this.msg = el('div', { id: 'graph-message', class: 'message', hidden: '' });
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('id', 'graph-svg');
    this.svg.setAttribute('class', 'graph-svg');
    this.svg.innerHTML = '<defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0L10,5L0,10z"/></marker></defs><g class="graph-viewport"></g>';
    this.viewport = this.svg.querySelector('g')!;
    this.info = el('aside', { id: 'graph-info', class: 'graph-info', hidden: '' });
    this.wrap = el('div', { class: 'graph-wrap' }, this.svg, this.info);
    content.append(this.msg, this.wrap);
    this.panZoom();
    this.svg.addEventListener('click', (e) => this.onClick(e));
    this.update();
  }

  update() {
    const visible = new Set(this.app.visibleRuns());
    const all: Source[] = [];
    for (const run of this.app.runs()) {
      const tags = this.app.tags[run];
      if (!tags || !visible.has(run)) continue;
      if (tags[RUN_GRAPH_TAG]?.plugin === 'graphs') all.push({ run, tag: '', conceptual: false, label: `${run}: graph` });
      for (const [tag, info] of Object.entries(tags)) {
        const p = PLUGINS[info.plugin];
        if (p) all.push({ run, tag, conceptual: p.conceptual, label: `${run}: ${tag} (${p.what})` });
      }
    }
    this.sources = all;
    const key = (s: Source) => JSON.stringify([s.run, s.tag, s.conceptual]);
    this.sourceSel.replaceChildren(...all.map((s) => el('option', { value: key(s), text: s.label })));
    if (!all.length) {
      this.say('No selected run has a graph.', 'empty');
      this.wrap.hidden = true;
      this.current = '';
      return;
    }
    const keep = all.find((s) => key(s) === this.current);
    this.sourceSel.value = keep ? this.current : key(all[0]);
    if (!keep) this.load();
  }

  refresh() { this.update(); }

  destroy() {
    this.destroyed = true;
    this.seq++;
    window.removeEventListener('pointermove', this.onMove);
    window.removeEventListener('pointerup', this.onUp);
  }

  private say(text: string, kind: 'empty' | 'error' | 'loading') {
    this.msg.hidden = false;
    this.msg.className = 'message ' + kind;
    this.msg.textContent = text;
  }

  private async load() {
    const src = this.sources.find((s) => JSON.stringify([s.run, s.tag, s.conceptual]) === this.sourceSel.value);
    if (!src) return;
    this.current = this.sourceSel.value;
    const seq = ++this.seq;
    const t0 = performance.now();
    this.say('Loading the graph\u2026', 'loading');
    this.wrap.hidden = true;
    this.h = null;
    this.selected = -1;
    this.info.hidden = true;
    let g: GraphResponse;
    try {
      g = await this.app.api.get<GraphResponse>('/graph', { run: src.run, tag: src.tag, conceptual: src.conceptual ? 'true' : '' });
      if (seq !== this.seq) return;
      const t1 = performance.now();
      this.h = new Hierarchy(g);
      this.layouts = new Layouts(this.h);
      const t2 = performance.now();
      graphProbe.steps.fetch = t1 - t0;
      graphProbe.steps.model = t2 - t1;
      graphProbe.ops = this.h.opCount;
      if (!this.h.opCount) { graphProbe.settled++; this.say('This graph has no nodes.', 'empty'); return; }
      this.wrap.hidden = false;
      this.msg.hidden = true;
      this.draw();
      this.fit();
      graphProbe.steps.draw = performance.now() - t2;
    } catch (e) {
      if (seq !== this.seq) return;
      const why = e instanceof HttpError ? e.message : (e as Error)?.message ?? String(e);
      graphProbe.error = why;
      graphProbe.settled++;
      this.say(`Could not draw the graph of ${src.label}: ${why}`, 'error');
      return;
    }
    afterPaint(() => {
      if (seq !== this.seq || this.destroyed) return;
      graphProbe.loadMs = performance.now() - t0;
      if (!graphProbe.loads) graphProbe.firstPaintMs = performance.now();
      graphProbe.loads++;
      graphProbe.settled++;
    });
  }

  // ---- drawing ------------------------------------------------------------

  /** draw renders the visible graph: the root's layout and, within it,
   * every open group's. */
  private draw() {
    const h = this.h!, L = this.layouts!;
    const out: string[] = [];
    this.boxes.clear();
    const root = L.layout(0);
    this.level(0, 0, 0, out);
    this.viewport.innerHTML = out.join('');
    this.boxes.set(0, { x: 0, y: 0, w: root.w, h: root.h });
    graphProbe.paints++;
    graphProbe.drawn = this.boxes.size - 1;
    void h;
  }

  private level(id: number, ox: number, oy: number, out: string[]) {
    const h = this.h!, L = this.layouts!;
    const l = L.layout(id);
    for (const e of l.edges) {
      if (e.points.length < 2) continue;
      let d = '';
      for (let i = 0; i < e.points.length; i++) d += (i ? 'L' : 'M') + (ox + e.points[i].x).toFixed(1) + ',' + (oy + e.points[i].y).toFixed(1);
      const w = Math.min(1 + Math.log2(e.count), 6).toFixed(1);
      out.push(`<path class="graph-edge${e.control ? ' control' : ''}" d="${d}" stroke-width="${w}" marker-end="url(#graph-arrow)"><title>${e.count} edge${e.count === 1 ? '' : 's'}</title></path>`);
    }
    for (const p of l.children) {
      const n = h.nodes[p.id];
      const x0 = ox + p.x - p.w / 2, y0 = oy + p.y - p.h / 2;
      this.boxes.set(p.id, { x: x0, y: y0, w: p.w, h: p.h });
      const sel = p.id === this.selected ? ' selected' : '';
      const label = esc(clip(n.label, Math.floor((p.w - 16) / 6.6)));
      if (n.op) {
        out.push(`<g class="graph-node graph-op${sel}" data-id="${p.id}"><title>${esc(n.path)} (${esc(n.op.op)})</title>` +
          `<rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${p.w.toFixed(1)}" height="${LEAF_H}" rx="${LEAF_H / 2}"/>` +
          `<text x="${(x0 + p.w / 2).toFixed(1)}" y="${(y0 + LEAF_H / 2 + 4).toFixed(1)}">${label}</text></g>`);
        continue;
      }
      if (!L.expanded.has(p.id)) {
        out.push(`<g class="graph-node graph-group${sel}" data-id="${p.id}"><title>${esc(n.path)}: ${n.ops} ops (click to open)</title>` +
          `<rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${p.w.toFixed(1)}" height="${p.h}" rx="5"/>` +
          `<text x="${(x0 + p.w / 2).toFixed(1)}" y="${(y0 + 14).toFixed(1)}">${label}</text>` +
          `<text class="graph-count" x="${(x0 + p.w / 2).toFixed(1)}" y="${(y0 + 26).toFixed(1)}">${n.ops} op${n.ops === 1 ? '' : 's'}</text></g>`);
        continue;
      }
      const inner = L.layout(p.id);
      out.push(`<g class="graph-node graph-open${sel}" data-id="${p.id}"><title>${esc(n.path)} (click to close)</title>` +
        `<rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${p.w.toFixed(1)}" height="${p.h.toFixed(1)}" rx="6"/>` +
        `<text x="${(x0 + 8).toFixed(1)}" y="${(y0 + 15).toFixed(1)}">${esc(clip(n.label, Math.floor((p.w - 16) / 6.6)))}</text></g>`);
      this.level(p.id, x0 + (p.w - inner.w) / 2, y0 + HEADER + PAD, out);
    }
  }

  // ---- interaction ----------------------------------------------------------

  private dragged = false;

  private onClick(e: MouseEvent) {
    if (this.dragged) { this.dragged = false; return; }
    const t = (e.target as Element).closest('[data-id]');
    if (!t || !this.h) return;
    const id = Number(t.getAttribute('data-id'));
    const n = this.h.nodes[id];
    if (!n) return;
    if (!n.op) this.toggle(id);
    this.select(id);
  }

  /** toggle opens or closes a group, keeping it where it was on screen. */
  toggle(id: number, open?: boolean) {
    const L = this.layouts!;
    const t0 = performance.now();
    const before = this.boxes.get(id);
    L.toggle(id, open);
    this.draw();
    graphProbe.steps.expandDraw = performance.now() - t0;
    const after = this.boxes.get(id);
    if (before && after) {
      // keep the group's top-left corner still on screen
      this.view.x += (before.x - after.x) * this.view.k;
      this.view.y += (before.y - after.y) * this.view.k;
      this.applyView();
    }
    afterPaint(() => {
      graphProbe.expandMs = performance.now() - t0;
      graphProbe.expands++;
    });
  }

  private select(id: number) {
    const h = this.h!;
    this.selected = id;
    for (const g of this.viewport.querySelectorAll('.selected')) g.classList.remove('selected');
    this.viewport.querySelector(`[data-id="${id}"]`)?.classList.add('selected');
    const n = h.nodes[id];
    this.info.hidden = false;
    const rows: HTMLElement[] = [el('h3', { class: 'graph-name', text: n.path || '(root)' })];
    const link = (name: string) => {
      const a = el('a', { href: '#', class: 'graph-link', text: name });
      a.addEventListener('click', (ev) => { ev.preventDefault(); this.reveal(name.replace(/^\^/, '').replace(/:\d+$/, '')); });
      return el('li', {}, a);
    };
    const dl = el('dl');
    const item = (k: string, v: string | HTMLElement) => dl.append(el('dt', { text: k }), el('dd', {}, v));
    if (n.op) {
      item('Op', el('span', { class: 'graph-opname', text: n.op.op || '(none)' }));
      if (n.op.device) item('Device', n.op.device);
      const ins = n.op.inputs ?? [];
      item(`Inputs (${ins.length})`, ins.length ? el('ul', {}, ...ins.map(link)) : 'none');
      const outs = h.outputs.get(id) ?? [];
      item(`Outputs (${outs.length})`, outs.length ? el('ul', {}, ...outs.slice(0, 200).map(link)) : 'none');
      const attrs = n.op.attrs ?? [];
      if (attrs.length) {
        const tb = el('table', { class: 'graph-attrs' });
        for (const [k, v] of attrs) tb.append(el('tr', {}, el('th', { text: k }), el('td', { text: v })));
        item(`Attributes (${attrs.length})`, tb);
      } else item('Attributes', 'none');
    } else {
      item('Ops', String(n.ops));
      item('Children', String(n.children.length));
      const b = el('button', { class: 'btn', type: 'button', text: this.layouts!.expanded.has(id) ? 'Close' : 'Open' });
      b.addEventListener('click', () => { this.toggle(id); this.select(id); });
      item('Group', b);
    }
    rows.push(dl);
    this.info.replaceChildren(...rows);
  }

  /** reveal opens the groups around a node, selects it and centres it. */
  reveal(name: string) {
    const h = this.h;
    if (!h) return;
    const id = h.opByName.get(name) ?? h.nodes.find((n) => n.path === name && !n.op)?.id;
    if (id === undefined) return;
    const L = this.layouts!;
    for (const a of h.ancestors(id)) L.toggle(a, true);
    this.draw();
    this.select(id);
    const b = this.boxes.get(id);
    if (b) {
      const r = this.svg.getBoundingClientRect();
      this.view.k = Math.max(this.view.k, 0.8);
      this.view.x = r.width / 2 - (b.x + b.w / 2) * this.view.k;
      this.view.y = r.height / 2 - (b.y + b.h / 2) * this.view.k;
      this.applyView();
    }
  }

  private showResults() {
    const h = this.h;
    const q = this.search.value;
    if (!h || !q.trim()) { this.results.hidden = true; return; }
    const ids = h.find(q, 30);
    this.results.replaceChildren(...ids.map((id) => {
      const n = h.nodes[id];
      const b = el('button', { type: 'button', class: 'graph-result', role: 'option', text: n.path + (n.op ? '' : ' (group)') });
      b.addEventListener('click', () => { this.results.hidden = true; this.reveal(n.path); });
      return b;
    }));
    if (!ids.length) this.results.append(el('div', { class: 'muted', text: 'No node matches.' }));
    this.results.hidden = false;
  }

  // ---- pan and zoom -----------------------------------------------------------

  private applyView() {
    const v = this.view;
    this.viewport.setAttribute('transform', `translate(${v.x.toFixed(1)},${v.y.toFixed(1)}) scale(${v.k.toFixed(4)})`);
  }

  /** fit shows the whole drawing, at most at its natural size. */
  fit() {
    const b = this.boxes.get(0);
    if (!b) return;
    const r = this.svg.getBoundingClientRect();
    const W = r.width || 800, H = r.height || 600;
    const k = Math.min(1, (W - 20) / Math.max(b.w, 1), (H - 20) / Math.max(b.h, 1));
    this.view = { k, x: (W - b.w * k) / 2, y: (H - b.h * k) / 2 };
    this.applyView();
  }

  private panZoom() {
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      const px = e.clientX - r.left, py = e.clientY - r.top;
      const k = Math.min(4, Math.max(0.02, this.view.k * Math.exp(-e.deltaY * 0.0015)));
      const f = k / this.view.k;
      this.view = { k, x: px - (px - this.view.x) * f, y: py - (py - this.view.y) * f };
      this.applyView();
    }, { passive: false });
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      this.dragged = false;
    });
    window.addEventListener('pointermove', this.onMove);
    window.addEventListener('pointerup', this.onUp);
  }

  private drag: { x: number; y: number; vx: number; vy: number } | null = null;

  private onMove = (e: PointerEvent) => {
    const s = this.drag;
    if (!s) return;
    const dx = e.clientX - s.x, dy = e.clientY - s.y;
    if (!this.dragged && Math.hypot(dx, dy) < 4) return;
    this.dragged = true;
    this.svg.classList.add('panning');
    this.view.x = s.vx + dx;
    this.view.y = s.vy + dy;
    this.applyView();
  };

  private onUp = () => {
    this.drag = null;
    this.svg.classList.remove('panning');
  };
}
