// The board page: header, runs sidebar, tabs, polling while live.
import { Api, Board, HttpError, Limiter, TagIndex, TagInfo, probe } from './api';
import { el, fmtAgo, fmtBytes, fmtDate, runColor, toDate } from './format';
import { renderMarkdown } from './markdown';
import { RunList } from './runs';
import { ViewState, readState, writeState } from './state';
import { ScalarsView } from './scalars';
import { HistogramsView, DistributionsView } from './histograms';
import { ImagesView, AudioView, TextView } from './media';
import { PRCurvesView } from './prcurves';
import { HParamsView } from './hparams';
import { GraphsView } from './graphs';

export interface View {
  /** update: the selected or filtered runs changed. */
  update(): void;
  /** refresh: the board has new data. */
  refresh(): void;
  destroy(): void;
}

interface TabDef {
  id: string;
  label: string;
  plugins: string[];
  make: (app: BoardApp, content: HTMLElement, toolbar: HTMLElement) => View;
}

const TABS: TabDef[] = [
  { id: 'scalars', label: 'Scalars', plugins: ['scalars'], make: (a, c, t) => new ScalarsView(a, c, t) },
  { id: 'histograms', label: 'Histograms', plugins: ['histograms'], make: (a, c, t) => new HistogramsView(a, c, t) },
  { id: 'distributions', label: 'Distributions', plugins: ['histograms'], make: (a, c, t) => new DistributionsView(a, c, t) },
  { id: 'images', label: 'Images', plugins: ['images'], make: (a, c, t) => new ImagesView(a, c, t) },
  { id: 'audio', label: 'Audio', plugins: ['audio'], make: (a, c, t) => new AudioView(a, c, t) },
  { id: 'graphs', label: 'Graphs', plugins: ['graphs', 'graph_keras_model', 'graph_run_metadata', 'graph_run_metadata_graph'], make: (a, c, t) => new GraphsView(a, c, t) },
  { id: 'text', label: 'Text', plugins: ['text'], make: (a, c, t) => new TextView(a, c, t) },
  { id: 'pr_curves', label: 'PR curves', plugins: ['pr_curves'], make: (a, c, t) => new PRCurvesView(a, c, t) },
  { id: 'hparams', label: 'HParams', plugins: ['hparams'], make: (a, c, t) => new HParamsView(a, c, t) },
];

/** boardSig changes when the board has new data or metadata. */
function boardSig(b: Board): string {
  return JSON.stringify([b.updated, b.size, b.runs, b.name, b.description, b.private]);
}

const CHART_QUERIES = 2;

const naturally = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export class BoardApp {
  api: Api;
  board: Board | null = null;
  tags: TagIndex = {};
  runWall = new Map<string, number>(); // run -> first wall time
  state: ViewState;
  limiter = new Limiter(6);
  /** chartLimiter runs the scalar charts' queries: each asks for every run
   * of a tag, so a few at a time, in page order, get the first chart drawn
   * sooner than all of them sharing the server and the page at once. */
  chartLimiter = new Limiter(CHART_QUERIES);
  /** generation counts data refreshes; caches key on it. */
  generation = 0;

  private allRuns: string[] = [];
  private colors = new Map<string, string>();
  private offSet = new Set<string>();
  private onSet: Set<string> | null = null;
  private runList: RunList | null = null;
  private view: View | null = null;
  private viewTab = '';
  private pollTimer = 0;
  private boardSig = '';

  constructor(public id: string) {
    const key = new URLSearchParams(location.search).get('key');
    this.api = new Api(id, key);
    this.state = readState(location.hash);
    this.offSet = new Set(this.state.off);
    this.onSet = this.state.on ? new Set(this.state.on) : null;
  }

  async start() {
    document.getElementById('copy-link')!.addEventListener('click', () => this.copyLink());
    window.addEventListener('hashchange', () => this.fromHash());
    try {
      // the three index calls go out together
      await Promise.all([this.loadBoard(), this.loadIndex()]);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.runList = new RunList(this, this.state.runFilter, this.state.runRegex);
    this.renderTabs();
    probe.ready = true;
    this.schedulePoll();
  }

  // ---- runs -------------------------------------------------------------

  runs(): string[] { return this.allRuns; }
  color(run: string): string { return this.colors.get(run) ?? '#888'; }
  isSelected(run: string): boolean { return this.onSet ? this.onSet.has(run) : !this.offSet.has(run); }

  setSelected(runs: string[], on: boolean) {
    if (this.onSet) {
      for (const r of runs) on ? this.onSet.add(r) : this.onSet.delete(r);
    } else {
      for (const r of runs) on ? this.offSet.delete(r) : this.offSet.add(r);
    }
    // keep the shorter of the two encodings for the URL
    const selected = this.allRuns.filter((r) => this.isSelected(r));
    if (selected.length * 2 < this.allRuns.length) {
      this.onSet = new Set(selected);
      this.offSet.clear();
    } else {
      this.onSet = null;
      const on = new Set(selected);
      this.offSet = new Set(this.allRuns.filter((r) => !on.has(r)));
    }
    this.runList?.render();
    this.saveState();
    this.view?.update();
  }

  filterChanged(text: string, regex: boolean) {
    this.state.runFilter = text;
    this.state.runRegex = regex;
    this.saveState();
    this.view?.update();
  }

  /** visibleRuns: selected and passing the filter, in list order. */
  visibleRuns(): string[] {
    return this.allRuns.filter((r) => this.isSelected(r) && (!this.runList || this.runList.matches(r)));
  }

  /** tagsOf: tag -> runs (visible ones only) having it, for one plugin. */
  tagsFor(plugin: string, onlyVisible = true): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const runs = onlyVisible ? this.visibleRuns() : this.allRuns;
    for (const r of runs) {
      const t = this.tags[r];
      if (!t) continue;
      for (const [tag, info] of Object.entries(t)) {
        if (info.plugin !== plugin) continue;
        let l = out.get(tag);
        if (!l) out.set(tag, (l = []));
        l.push(r);
      }
    }
    return new Map([...out.entries()].sort((a, b) => naturally.compare(a[0], b[0])));
  }

  /** allTagsFor: every tag of a plugin in any run (visible or not). */
  allTagsFor(plugin: string): string[] {
    return [...this.tagsFor(plugin, false).keys()];
  }

  tagInfo(run: string, tag: string): TagInfo | undefined { return this.tags[run]?.[tag]; }

  saveState() {
    this.state.off = this.onSet ? [] : [...this.offSet];
    this.state.on = this.onSet ? [...this.onSet] : null;
    const h = writeState(this.state);
    if (h !== location.hash && !(h === '' && location.hash === '')) {
      history.replaceState(null, '', location.pathname + location.search + (h || ''));
    }
  }

  private fromHash() {
    const s = readState(location.hash);
    const tabChanged = s.tab !== this.state.tab;
    this.state = s;
    this.offSet = new Set(s.off);
    this.onSet = s.on ? new Set(s.on) : null;
    if (tabChanged) this.renderTabs();
    this.runList?.render();
    this.view?.update();
  }

  // ---- data -------------------------------------------------------------

  private async loadBoard() {
    const b = await this.api.get<Board>('');
    this.board = b;
    this.boardSig = boardSig(b);
    this.renderHeader();
  }

  private async loadIndex() {
    const [tags, runs] = await Promise.all([
      this.api.get<{ runs: TagIndex }>('/tags'),
      this.api.get<{ runs: { name: string; first_wall_time?: number }[] }>('/runs').catch(() => ({ runs: [] })),
    ]);
    this.tags = tags.runs ?? {};
    for (const r of runs.runs ?? []) {
      if (typeof r.first_wall_time === 'number' && r.first_wall_time > 0) this.runWall.set(r.name, r.first_wall_time);
    }
    const names = new Set(Object.keys(this.tags));
    for (const r of runs.runs ?? []) names.add(r.name);
    const sorted = [...names].sort(naturally.compare);
    // colors: by order of first appearance, so a run that appears later
    // during a live upload does not repaint the others
    for (const r of sorted) if (!this.colors.has(r)) this.colors.set(r, runColor(this.colors.size));
    this.allRuns = sorted;
  }

  private renderHeader() {
    const b = this.board!;
    document.title = (b.name || 'Board ' + b.id) + ' · tbhost';
    document.getElementById('board-name')!.textContent = b.name || 'Board ' + b.id;
    const desc = document.getElementById('board-description')!;
    desc.innerHTML = b.description ? renderMarkdown(b.description) : '';
    desc.hidden = !b.description;
    const live = document.getElementById('live')!;
    live.hidden = !b.live;
    const nRuns = Array.isArray(b.runs) ? b.runs.length : Number(b.runs ?? 0);
    const created = toDate(b.created);
    const updated = toDate(b.updated);
    const meta = document.getElementById('board-meta')!;
    meta.replaceChildren(
      el('span', { class: 'runs-n', text: `${nRuns} run${nRuns === 1 ? '' : 's'}` }),
      el('span', { class: 'size', text: fmtBytes(b.size ?? 0) }),
      el('span', { class: 'created', title: created ? created.toString() : '', text: 'created ' + fmtDate(created) }),
      el('span', { class: 'updated', title: updated ? updated.toString() : '', text: 'updated ' + fmtAgo(updated) }),
    );
    if (b.private) meta.append(el('span', { class: 'private', text: 'private' }));
  }

  private renderTabs() {
    const nav = document.getElementById('tabs')!;
    const present = new Set<string>();
    for (const t of Object.values(this.tags)) for (const i of Object.values(t)) present.add(i.plugin);
    const tabs = TABS.filter((t) => t.plugins.some((p) => present.has(p)));
    nav.replaceChildren(...tabs.map((t) => {
      const b = el('button', { id: 'tab-' + t.id, class: 'tab', role: 'tab', type: 'button', text: t.label });
      b.addEventListener('click', () => { this.state.tab = t.id; this.saveState(); this.renderTabs(); });
      return b;
    }));
    const msg = document.getElementById('message')!;
    if (!tabs.length) {
      this.view?.destroy();
      this.view = null;
      this.viewTab = '';
      document.getElementById('content')!.replaceChildren();
      document.getElementById('toolbar')!.replaceChildren();
      msg.hidden = false;
      msg.className = 'message empty';
      msg.textContent = this.allRuns.length
        ? 'This board has no data that can be shown (no scalars, histograms, images, audio, text, PR curves or hparams).'
        : this.board?.live ? 'This board has no data yet: an upload is running, data will appear here by itself.'
          : 'This board has no data yet. Upload a log directory with: tbhost upload ./logs --server ' + location.origin;
      return;
    }
    msg.hidden = true;
    let cur = tabs.find((t) => t.id === this.state.tab) ?? tabs[0];
    for (const b of nav.children) b.classList.toggle('active', b.id === 'tab-' + cur.id);
    for (const b of nav.children) b.setAttribute('aria-selected', String(b.id === 'tab-' + cur.id));
    if (this.viewTab === cur.id && this.view) return;
    this.view?.destroy();
    const content = document.getElementById('content')!;
    const toolbar = document.getElementById('toolbar')!;
    content.replaceChildren();
    toolbar.replaceChildren();
    content.dataset.tab = cur.id;
    this.viewTab = cur.id;
    this.view = cur.make(this, content, toolbar);
  }

  private schedulePoll() {
    clearTimeout(this.pollTimer);
    const every = this.board?.live ? 5000 : 30000;
    this.pollTimer = window.setTimeout(() => this.poll(), every);
  }

  private async poll() {
    try {
      if (!document.hidden) {
        const b = await this.api.get<Board>('');
        const sig = boardSig(b);
        const changed = sig !== this.boardSig;
        this.board = b;
        this.renderHeader();
        if (changed) {
          const before = this.allRuns.length;
          await this.loadIndex();
          this.boardSig = sig; // only now: an index that failed to load is asked for again
          this.generation++;
          if (this.allRuns.length !== before) this.runList?.refilter();
          this.renderTabs();
          this.view?.refresh();
        }
      }
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) { this.fatal(e); return; }
      // transient: try again at the next tick
    }
    this.schedulePoll();
  }

  private fatal(e: unknown) {
    const msg = document.getElementById('message')!;
    msg.hidden = false;
    msg.className = 'message error';
    if (e instanceof HttpError && e.status === 404) {
      msg.textContent = 'Board not found: it may have been deleted, or the link is mistyped.';
    } else if (e instanceof HttpError && (e.status === 401 || e.status === 403)) {
      msg.textContent = 'This board is private: open it with the link that includes its ?key=.';
    } else {
      msg.textContent = 'Could not load the board: ' + ((e as Error)?.message ?? String(e));
    }
    probe.ready = true;
  }

  private async copyLink() {
    const btn = document.getElementById('copy-link')!;
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      const ta = el('textarea');
      ta.value = url;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    btn.textContent = 'Copied!';
    setTimeout(() => { btn.textContent = 'Copy link'; }, 1500);
  }
}

/** lazy calls show(el) once an element comes near the viewport. */
export class Lazy {
  private io: IntersectionObserver;
  private cbs = new Map<Element, (visible: boolean) => void>();
  constructor(root: Element | null = null) {
    this.io = new IntersectionObserver((entries) => {
      for (const e of entries) this.cbs.get(e.target)?.(e.isIntersecting);
    }, { root, rootMargin: '300px 0px' });
  }
  observe(target: Element, cb: (visible: boolean) => void) { this.cbs.set(target, cb); this.io.observe(target); }
  unobserve(target: Element) { this.cbs.delete(target); this.io.unobserve(target); }
  disconnect() { this.io.disconnect(); this.cbs.clear(); }
}

/** groupTags groups tags by their prefix before the first '/'. */
export function groupTags(tags: string[]): [string, string[]][] {
  const g = new Map<string, string[]>();
  for (const t of tags) {
    const i = t.indexOf('/');
    const k = i > 0 ? t.slice(0, i) : t;
    let l = g.get(k);
    if (!l) g.set(k, (l = []));
    l.push(t);
  }
  // a group of one tag without a slash goes to a shared "" group like TensorBoard's ungrouped charts
  return [...g.entries()];
}
