// The board page: header, runs sidebar, tabs, polling while live; the
// runs table, run notes and baselines, the owner's edits; and the same
// page over several boards at once (/compare/<ids>/, see compare.ts).
import { Annotation, Api, Board, HttpError, Limiter, RunInfo, TagIndex, TagInfo, probe } from './api';
import { BoardRef, CompareApi, Member, addToComparison, boardLabels, boardRefs, compareHref, compareKeys } from './compare';
import { el, fmtAgo, fmtBytes, fmtDate, runColor, toDate } from './format';
import { renderMarkdown } from './markdown';
import { NoteEditor, NoteEdit, NotePopover, ownerToken, setOwnerToken } from './notes';
import { RunList } from './runs';
import { RunsTablePanel } from './runstable';
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

/** One board of a comparison, and how reading it went. */
interface CompareBoard {
  id: string;
  key: string;
  api: Api;
  board: Board | null;
  /** Why the board is not shown ('' when it is). */
  problem: string;
  label: string;
  sig: string;
}

export class BoardApp {
  api: Api;
  board: Board | null = null;
  /** The boards of a comparison (null on a board page). */
  compare: CompareBoard[] | null = null;
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
  private info = new Map<string, RunInfo>();
  private groupColors: Map<string, string> | null = null;
  private table: RunsTablePanel | null = null;
  private editor: NoteEditor | null = null;
  readonly notePop: NotePopover;

  /** A board page for id, or, given compareIds, a comparison of those
   * boards (their keys as ?key.<id>=). */
  constructor(public id: string, compareIds?: string[]) {
    const key = new URLSearchParams(location.search).get('key');
    this.api = new Api(id, key);
    if (compareIds) {
      const keys = compareKeys(location.search);
      this.compare = compareIds.map((id) => {
        const key = keys.get(id) ?? '';
        return { id, key, api: new Api(id, key || null), board: null, problem: '', label: id, sig: '' };
      });
    }
    this.notePop = new NotePopover();
    this.state = readState(location.hash);
    this.offSet = new Set(this.state.off);
    this.onSet = this.state.on ? new Set(this.state.on) : null;
  }

  async start() {
    document.getElementById('copy-link')!.addEventListener('click', () => this.copyLink());
    window.addEventListener('hashchange', () => this.fromHash());
    this.addHeaderActions();
    try {
      if (this.compare) {
        // the boards first: the runs of a comparison are named by them
        await this.loadBoards();
        await this.loadIndex();
      } else {
        // the three index calls go out together
        await Promise.all([this.loadBoard(), this.loadIndex()]);
      }
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.runList = new RunList(this, this.state.runFilter, this.state.runRegex);
    this.addTableToggle();
    if (this.state.table) this.toggleTable(true, false);
    this.renderTabs();
    probe.ready = true;
    this.schedulePoll();
  }

  // ---- runs -------------------------------------------------------------

  /** runs: every run, baselines first, then in natural order. */
  runs(): string[] { return this.allRuns; }
  /** color: the run's colour, or its group's while the runs table groups. */
  color(run: string): string { return this.groupColors?.get(run) ?? this.colors.get(run) ?? '#888'; }
  isSelected(run: string): boolean { return this.onSet ? this.onSet.has(run) : !this.offSet.has(run); }
  /** runInfo: the run's note and baseline flag (from /runs). */
  runInfo(run: string): RunInfo | undefined { return this.info.get(run); }
  isBaseline(run: string): boolean { return !!this.info.get(run)?.baseline; }
  /** listed: the run shows in the runs list: it passes the filter, or it
   * is a baseline (never hidden by the filter). */
  listed(run: string): boolean { return this.isBaseline(run) || !this.runList || this.runList.matches(run); }

  /** setGroupColors colours runs by group (null: each its own colour). */
  setGroupColors(colors: Map<string, string> | null) {
    const same = (a: Map<string, string> | null, b: Map<string, string> | null) =>
      a === b || (!!a && !!b && a.size === b.size && [...a].every(([k, v]) => b.get(k) === v));
    if (same(colors, this.groupColors)) return;
    this.groupColors = colors;
    this.runList?.render();
    this.view?.update();
  }

  /** selectOnly selects these runs and no other. */
  selectOnly(runs: string[]) {
    this.onSet = new Set(runs);
    this.offSet.clear();
    this.setSelected([], true); // re-encodes the selection, saves and redraws
  }

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
    this.table?.render();
    this.saveState();
    this.view?.update();
  }

  filterChanged(text: string, regex: boolean) {
    this.state.runFilter = text;
    this.state.runRegex = regex;
    this.saveState();
    this.table?.rows();
    this.view?.update();
  }

  /** visibleRuns: selected and listed (passing the filter, or a
   * baseline), in list order: baselines first. */
  visibleRuns(): string[] {
    return this.allRuns.filter((r) => this.isSelected(r) && this.listed(r));
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
    this.toggleTable(s.table, false);
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
      this.api.get<{ runs: RunInfo[] }>('/runs').catch(() => ({ runs: [] })),
    ]);
    this.tags = tags.runs ?? {};
    for (const r of runs.runs ?? []) {
      if (typeof r.first_wall_time === 'number' && r.first_wall_time > 0) this.runWall.set(r.name, r.first_wall_time);
    }
    this.setInfo(runs.runs ?? []);
    const names = new Set(Object.keys(this.tags));
    for (const r of runs.runs ?? []) names.add(r.name);
    const sorted = [...names].sort(naturally.compare);
    // colors: by order of first appearance, so a run that appears later
    // during a live upload does not repaint the others
    for (const r of sorted) if (!this.colors.has(r)) this.colors.set(r, runColor(this.colors.size));
    this.allRuns = sorted;
    this.orderRuns();
  }

  /** setInfo keeps the runs' notes and baselines; it reports whether
   * they changed. */
  private setInfo(runs: RunInfo[]): boolean {
    const next = new Map<string, RunInfo>();
    for (const r of runs) if (r.note || r.note_html || r.baseline) next.set(r.name, { name: r.name, note: r.note, note_html: r.note_html, baseline: r.baseline });
    const sig = (m: Map<string, RunInfo>) => JSON.stringify([...m.values()]);
    const changed = sig(next) !== sig(this.info);
    this.info = next;
    return changed;
  }

  /** orderRuns puts the baselines first (each group in natural order). */
  private orderRuns() {
    const sorted = [...this.allRuns].sort(naturally.compare);
    this.allRuns = [...sorted.filter((r) => this.isBaseline(r)), ...sorted.filter((r) => !this.isBaseline(r))];
  }

  /** annotationsChanged redraws what shows notes and baselines. */
  private annotationsChanged() {
    this.orderRuns();
    this.runList?.refilter();
    this.table?.rows();
    this.view?.update();
  }

  // ---- owner's edits ----------------------------------------------------

  /** boardOf: the board a run belongs to, its API and the run's own name. */
  private boardOf(run: string): { id: string; api: Api; run: string } | null {
    if (!this.compare) return { id: this.id, api: this.api, run };
    const r = (this.api as CompareApi).route(run);
    if (!r) return null;
    const m = (this.api as CompareApi).members[r.i];
    return { id: m.id, api: m.api, run: r.run };
  }

  /** canEdit: this tab holds the write token of the run's board. */
  canEdit(run: string): boolean {
    const b = this.boardOf(run);
    return !!b && ownerToken(b.id) !== '';
  }

  /** editRun opens the note editor of a run (for the owner). */
  editRun(run: string) {
    if (!this.canEdit(run)) return;
    this.editor ??= new NoteEditor();
    this.editor.open(run, this.info.get(run), (e) => this.annotate(run, e));
  }

  /** annotate writes a run's note and baseline flag (PATCH /annotations). */
  async annotate(run: string, e: Partial<NoteEdit>) {
    const b = this.boardOf(run);
    if (!b) throw new Error(`run ${run} is not on this page`);
    const token = ownerToken(b.id);
    if (!token) throw new Error('Edit as owner first: this page does not hold the board\'s write token.');
    let a: Annotation;
    try {
      a = await b.api.send<Annotation>('PATCH', '/annotations', { run: b.run }, token, e);
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) throw new Error('The write token is not this board\'s: ' + err.message);
      throw err;
    }
    if (a.note || a.note_html || a.baseline) this.info.set(run, { name: run, note: a.note, note_html: a.note_html, baseline: a.baseline });
    else this.info.delete(run);
    this.annotationsChanged();
  }

  /** addHeaderActions adds "Edit as owner" (a board page) and "Compare
   * with another board…" to the header. */
  private addHeaderActions() {
    const copy = document.getElementById('copy-link')!;
    const row = copy.parentElement!;
    const cmp = el('button', { id: 'compare-open', type: 'button', class: 'btn', text: this.compare ? 'Add a board…' : 'Compare with another board…' });
    const cmpInput = el('input', { id: 'compare-url', type: 'search', placeholder: 'Link of a board (with its ?key= if private)', autocomplete: 'off', spellcheck: 'false' });
    const cmpGo = el('button', { id: 'compare-go', type: 'submit', class: 'btn primary', text: 'Compare' });
    const cmpErr = el('span', { id: 'compare-error', class: 'warn' });
    const cmpForm = el('form', { id: 'compare-form', class: 'header-form' }, cmpInput, cmpGo, cmpErr);
    cmpForm.hidden = true;
    cmp.addEventListener('click', () => { cmpForm.hidden = !cmpForm.hidden; if (!cmpForm.hidden) cmpInput.focus(); });
    cmpForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      try {
        const current: BoardRef[] = this.compare ? this.compare.map((b) => ({ id: b.id, key: b.key })) : [{ id: this.id, key: this.api.key ?? '' }];
        const { ids, keys } = addToComparison(current, boardRefs(cmpInput.value, location.origin));
        location.assign(compareHref(ids, keys, location.hash));
      } catch (e) {
        cmpErr.textContent = (e as Error).message;
      }
    });
    row.insertBefore(cmp, copy);
    const header = document.getElementById('board-header')!;
    header.insertBefore(cmpForm, document.getElementById('board-description'));
    if (this.compare) return;

    const owner = el('button', { id: 'owner-open', type: 'button', class: 'btn', text: 'Edit as owner' });
    const tokenInput = el('input', { id: 'owner-token', type: 'password', placeholder: 'Write token (from tbhost upload; ~/.config/tbhost/boards.json)', autocomplete: 'off' });
    const save = el('button', { id: 'owner-save', type: 'submit', class: 'btn primary', text: 'Use token' });
    const forget = el('button', { id: 'owner-forget', type: 'button', class: 'btn', text: 'Forget' });
    const msg = el('span', { id: 'owner-msg', class: 'muted' });
    const form = el('form', { id: 'owner-form', class: 'header-form' }, tokenInput, save, forget, msg);
    form.hidden = true;
    const show = () => {
      const t = ownerToken(this.id);
      document.body.classList.toggle('owner', !!t);
      owner.textContent = t ? 'Owner ✓' : 'Edit as owner';
      owner.title = t ? 'This tab holds the board\'s write token: hover a run to edit its note or baseline' : 'Give the board\'s write token to write run notes and mark baselines';
      forget.hidden = !t;
    };
    owner.addEventListener('click', () => { form.hidden = !form.hidden; if (!form.hidden) tokenInput.focus(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = tokenInput.value.trim();
      if (!t) return;
      msg.textContent = 'checking…';
      try {
        // a read that needs the write token: 403 when it is not this board's
        await this.api.send('GET', '/files', {}, t);
        setOwnerToken(this.id, t);
        tokenInput.value = '';
        msg.textContent = '';
        form.hidden = true;
        show();
        this.runList?.render();
      } catch (e) {
        msg.textContent = e instanceof HttpError && (e.status === 401 || e.status === 403) ? 'That is not this board\'s write token.' : 'Could not check the token: ' + (e as Error).message;
        msg.className = 'warn';
      }
    });
    forget.addEventListener('click', () => { setOwnerToken(this.id, ''); show(); this.runList?.render(); });
    row.insertBefore(owner, copy);
    header.insertBefore(form, document.getElementById('board-description'));
    show();
  }

  // ---- runs table -------------------------------------------------------

  private addTableToggle() {
    const b = el('button', { id: 'runs-table-toggle', type: 'button', class: 'btn small', text: 'Runs table', title: 'Runs with their hparams and metrics: sort, filter, group, select, CSV' });
    b.addEventListener('click', () => this.toggleTable(!this.state.table));
    document.querySelector('.runs-actions')!.append(b);
  }

  /** toggleTable shows or hides the runs table panel. */
  toggleTable(on: boolean, save = true) {
    this.state.table = on;
    if (save) this.saveState();
    document.getElementById('runs-table-toggle')?.classList.toggle('active', on);
    if (on && !this.table) {
      this.table = new RunsTablePanel(this);
      const main = document.getElementById('main')!;
      main.insertBefore(this.table.el, main.firstChild);
      this.table.rebuild();
    } else if (on && this.table) {
      this.table.rebuild();
    }
    if (this.table) this.table.el.hidden = !on;
    if (!on) this.setGroupColors(null);
  }

  // ---- comparisons ------------------------------------------------------

  /** loadBoards reads every board of a comparison; a board that is
   * missing or whose key is wrong is named on the page, the others show. */
  private async loadBoards() {
    const cmp = this.compare!;
    await Promise.all(cmp.map(async (b) => {
      try {
        b.board = await b.api.get<Board>('');
        b.sig = boardSig(b.board);
      } catch (e) {
        b.board = null;
        if (e instanceof HttpError && e.status === 404) b.problem = 'not found: it may have been deleted, or the link is mistyped';
        else if (e instanceof HttpError && e.status === 401) b.problem = 'private: the link needs its key (?key.' + b.id + '=…)';
        else if (e instanceof HttpError && e.status === 403) b.problem = 'the key given for it is wrong';
        else b.problem = 'could not be read: ' + ((e as Error)?.message ?? String(e));
      }
    }));
    const ok = cmp.filter((b) => b.board);
    const labels = boardLabels(ok.map((b) => ({ id: b.id, name: b.board!.name })));
    ok.forEach((b, i) => { b.label = labels[i]; });
    const members: Member[] = ok.map((b) => ({ id: b.id, label: b.label, api: b.api }));
    this.api = new CompareApi(members);
    this.boardSig = cmp.map((b) => b.sig).join('|');
    this.renderCompareHeader();
    if (!ok.length) throw new Error('none of the boards of this comparison can be shown');
  }

  private renderCompareHeader() {
    const cmp = this.compare!;
    const ok = cmp.filter((b) => b.board);
    const title = 'Comparison: ' + (ok.length ? ok.map((b) => b.label).join(' · ') : cmp.map((b) => b.id).join(', '));
    document.title = title + ' · tbhost';
    document.getElementById('board-name')!.textContent = title;
    const live = document.getElementById('live')!;
    live.hidden = !ok.some((b) => b.board!.live);
    let runs = 0;
    for (const b of ok) runs += Array.isArray(b.board!.runs) ? b.board!.runs.length : Number(b.board!.runs ?? 0);
    const meta = document.getElementById('board-meta')!;
    meta.replaceChildren(el('span', { class: 'runs-n', text: `${ok.length} of ${cmp.length} boards, ${runs} run${runs === 1 ? '' : 's'}` }));
    const list = el('ul', { id: 'compare-boards', class: 'compare-boards' }, ...cmp.map((b) => {
      const href = '/experiment/' + encodeURIComponent(b.id) + '/' + (b.key ? '?key=' + encodeURIComponent(b.key) : '');
      const li = el('li', { class: 'compare-board', 'data-id': b.id, 'data-state': b.board ? 'ok' : 'problem' },
        el('a', { href, text: b.board ? b.label : b.id }));
      if (b.board) li.append(el('span', { class: 'muted', text: ` ${fmtBytes(b.board.size ?? 0)}, updated ${fmtAgo(toDate(b.board.updated))}` + (b.board.private ? ', private' : '') }));
      else li.append(el('span', { class: 'warn', text: ` board ${b.id}: ${b.problem}` }));
      return li;
    }));
    const desc = document.getElementById('board-description')!;
    desc.replaceChildren(list);
    desc.hidden = false;
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
        let sig: string;
        if (this.compare) {
          for (const b of this.compare) {
            if (!b.board) continue;
            b.board = await b.api.get<Board>('');
            b.sig = boardSig(b.board);
          }
          sig = this.compare.map((b) => b.sig).join('|');
          this.renderCompareHeader();
        } else {
          const b = await this.api.get<Board>('');
          sig = boardSig(b);
          this.board = b;
          this.renderHeader();
        }
        const changed = sig !== this.boardSig;
        if (!changed) {
          // notes and baselines change without new data
          const runs = await this.api.get<{ runs: RunInfo[] }>('/runs');
          if (this.setInfo(runs.runs ?? [])) this.annotationsChanged();
        }
        if (changed) {
          const before = this.allRuns.length;
          await this.loadIndex();
          this.boardSig = sig; // only now: an index that failed to load is asked for again
          this.generation++;
          if (this.allRuns.length !== before) this.runList?.refilter();
          this.renderTabs();
          this.view?.refresh();
          if (this.state.table) this.table?.rebuild();
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
    if (this.compare) {
      const bad = this.compare.filter((b) => b.problem);
      msg.textContent = bad.length === this.compare.length
        ? 'None of the boards can be shown: ' + bad.map((b) => `board ${b.id} ${b.problem}`).join('; ') + '.'
        : 'Could not load the comparison: ' + ((e as Error)?.message ?? String(e));
    } else if (e instanceof HttpError && e.status === 404) {
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
