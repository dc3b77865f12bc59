// The runs table: a panel above the tabs with one row per run, its
// hparams and, for the metrics the viewer picks, their last, min and max
// values. Columns sort on a click (again: the other way), one hparam
// value filters the rows, one hparam groups them (and colours the runs by
// group in every chart), a row's box selects its run in every chart, and
// the table downloads as CSV. Rows are virtualised: only those in view
// exist in the DOM. The view state (shown, metrics, sort, group, filter)
// lives in the link.
import { HParamsResponse, mark } from './api';
import type { BoardApp } from './board';
import { download, el, runColor } from './format';
import {
  Column, Grouping, RunsTable, buildTable, cellKey, cellText, columnById, distinctValues, filterRows, groupRows, sortKeys, sortRows, toCSV,
} from './runsmodel';

const ROW = 26;
const W_CHECK = 30, W_RUN = 240, W_GROUP = 120, W_COL = 120;

export class RunsTablePanel {
  readonly el: HTMLElement;
  private bar: HTMLElement;
  private scroller: HTMLElement;
  private head: HTMLElement;
  private spacer: HTMLElement;
  private rowsEl: HTMLElement;
  private countEl: HTMLElement;
  private metricsMenu: HTMLElement;
  private filterCol: HTMLSelectElement;
  private filterValue: HTMLSelectElement;
  private groupSel: HTMLSelectElement;
  private allBox: HTMLInputElement;

  private hparams: HParamsResponse['runs'] = {};
  private hparamsGen = -1;
  private loading: Promise<void> | null = null;
  private table: RunsTable = { runs: [], columns: [] };
  private keys = new Map<string, Float64Array>();
  private grouping: Grouping | null = null;
  /** shown: the rows (table indices) passing the filters, in sort order. */
  private shown: Uint32Array = new Uint32Array(0);
  private raf = 0;
  private lastClicked = -1;
  /** sortMs: how long the last sort took (keys, order), for the benchmark. */
  sortMs = 0;

  constructor(private app: BoardApp) {
    this.countEl = el('span', { class: 'muted', id: 'rt-count' });
    this.metricsMenu = el('div', { class: 'rt-menu', id: 'rt-metrics-menu' });
    const metrics = el('details', { class: 'rt-metrics dl', id: 'rt-metrics' }, el('summary', { class: 'btn small', text: 'Metrics…', title: 'Scalar tags whose last, min and max values are columns' }), this.metricsMenu);
    metrics.addEventListener('toggle', () => { if (metrics.open) this.fillMetrics(); });
    this.filterCol = el('select', { id: 'rt-filter-col', title: 'Keep the rows with one value of an hparam' });
    this.filterValue = el('select', { id: 'rt-filter-value' });
    this.groupSel = el('select', { id: 'rt-group', title: 'Group the rows, and colour the runs, by an hparam' });
    this.filterCol.addEventListener('change', () => {
      const s = this.app.state;
      s.tableFilterCol = this.filterCol.value;
      const col = columnById(this.table, s.tableFilterCol);
      s.tableFilterValue = col ? distinctValues(col)[0]?.key ?? '' : '';
      this.app.saveState();
      this.fillSelects();
      this.rows();
    });
    this.filterValue.addEventListener('change', () => { this.app.state.tableFilterValue = this.filterValue.value; this.app.saveState(); this.rows(); });
    this.groupSel.addEventListener('change', () => { this.app.state.tableGroup = this.groupSel.value; this.app.saveState(); this.regroup(); this.rows(); });
    const csv = el('button', { id: 'rt-csv', type: 'button', class: 'btn small', text: 'CSV', title: 'Download the rows shown as CSV' });
    csv.addEventListener('click', () => this.downloadCSV());
    const only = el('button', { id: 'rt-only', type: 'button', class: 'btn small', text: 'Select only these', title: 'Select the rows shown, and no other run' });
    only.addEventListener('click', () => this.app.selectOnly(this.shownRuns()));
    const close = el('button', { type: 'button', class: 'btn small', text: '×', title: 'Close the runs table' });
    close.addEventListener('click', () => this.app.toggleTable(false));
    this.bar = el('div', { class: 'rt-bar' }, el('strong', { text: 'Runs' }), metrics,
      el('label', { class: 'field' }, 'Filter ', this.filterCol, ' = ', this.filterValue),
      el('label', { class: 'field' }, 'Group by ', this.groupSel), only, csv, this.countEl, el('span', { class: 'spacer' }), close);

    this.allBox = el('input', { type: 'checkbox', id: 'rt-all', title: 'Select or clear every row shown' });
    this.allBox.addEventListener('change', () => this.app.setSelected(this.shownRuns(), this.allBox.checked));
    this.head = el('div', { class: 'rt-row rt-head', id: 'rt-head' });
    this.rowsEl = el('div', { class: 'rt-rows' });
    this.spacer = el('div', { class: 'rt-spacer' }, this.rowsEl);
    this.scroller = el('div', { class: 'rt-scroll', id: 'rt-scroll' }, this.head, this.spacer);
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
    this.rowsEl.addEventListener('click', (ev) => this.onRowClick(ev));
    this.rowsEl.addEventListener('mouseover', (ev) => {
      const row = (ev.target as HTMLElement).closest<HTMLElement>('.rt-run');
      const run = row?.closest<HTMLElement>('.rt-row')?.dataset.run;
      if (row && run !== undefined) this.app.notePop.show(row, run, this.app.runInfo(run));
    });
    this.rowsEl.addEventListener('mouseleave', () => this.app.notePop.hide());
    this.el = el('section', { id: 'runs-table', class: 'runs-table', 'data-state': 'idle' }, this.bar, this.scroller);
  }

  /** rebuild reloads what changed (hparams on new data) and redraws. */
  async rebuild() {
    if (this.hparamsGen !== this.app.generation) {
      this.hparamsGen = this.app.generation;
      this.el.dataset.state = 'loading';
      this.loading = this.app.api.get<HParamsResponse>('/hparams').then((h) => { this.hparams = h.runs ?? {}; }, () => { this.hparams = {}; });
    }
    await this.loading;
    const s = this.app.state;
    const tags = new Set(this.app.allTagsFor('scalars'));
    s.tableMetrics = s.tableMetrics.filter((m) => tags.has(m));
    this.table = buildTable(this.app.runs(), this.hparams, (r, t) => this.app.tagInfo(r, t), s.tableMetrics);
    this.keys.clear();
    this.fillSelects();
    this.regroup();
    this.rows();
    this.el.dataset.state = 'drawn';
  }

  /** regroup recomputes the groups and gives the app their colours. */
  private regroup() {
    const col = columnById(this.table, this.app.state.tableGroup);
    this.grouping = col ? groupRows(col) : null;
    if (!this.grouping) { this.app.setGroupColors(null); return; }
    const colors = new Map<string, string>();
    const g = this.grouping;
    this.table.runs.forEach((r, i) => colors.set(r, runColor(g.rank[i])));
    this.app.setGroupColors(colors);
  }

  /** rows filters and sorts the rows, then draws them. */
  rows() {
    const s = this.app.state;
    const filters = s.tableFilterCol && columnById(this.table, s.tableFilterCol) ? [{ col: s.tableFilterCol, value: s.tableFilterValue }] : [];
    const t0 = performance.now();
    const keep = filterRows(this.table, filters, (r) => this.app.listed(r));
    const t1 = performance.now();
    this.shown = this.sort(keep);
    const t2 = performance.now();
    this.renderHead();
    this.spacer.style.height = this.shown.length * ROW + 'px';
    const t3 = performance.now();
    this.render();
    const t4 = performance.now();
    // for the benchmark: the whole of rows() and its phases (filter, sort, head, rows drawn)
    this.el.dataset.rowsMs = (t4 - t0).toFixed(2);
    this.el.dataset.phases = [t1 - t0, t2 - t1, t3 - t2, t4 - t3].map((x) => x.toFixed(1)).join(' ');
  }

  /** sort orders rows by the sort column (keys computed once a column). */
  private sort(rows: number[]): Uint32Array {
    const t0 = performance.now();
    const s = this.app.state;
    const col = columnById(this.table, s.tableSort);
    let keys: Float64Array | undefined;
    if (col) {
      keys = this.keys.get(col.id);
      if (!keys) this.keys.set(col.id, (keys = sortKeys(col)));
    }
    // without a sort column: the runs' own order (keys = row index)
    const out = sortRows(rows, keys ?? Float64Array.from(this.table.runs, (_, i) => i), s.tableDesc ? -1 : 1, this.grouping?.rank);
    this.sortMs = performance.now() - t0;
    mark('#table-sort', t0);
    this.el.dataset.sortMs = this.sortMs.toFixed(2);
    return out;
  }

  private cols(): Column[] { return this.table.columns; }

  private template(): string {
    const w = [W_CHECK + 'px', W_RUN + 'px'];
    if (this.grouping) w.push(W_GROUP + 'px');
    for (let i = 1; i < this.cols().length; i++) w.push(W_COL + 'px');
    return w.join(' ');
  }

  private renderHead() {
    const s = this.app.state;
    this.scroller.style.setProperty('--rt-cols', this.template());
    const cells: HTMLElement[] = [el('div', { class: 'rt-cell rt-check' }, this.allBox)];
    const th = (col: Column | null, label: string, cls: string) => {
      const id = col?.id ?? '';
      const sorted = id !== '' && s.tableSort === id;
      const c = el('div', { class: `rt-cell rt-th ${cls}`, 'data-col': id, title: label, role: 'columnheader' },
        el('span', { class: 'rt-label', text: label }), el('span', { class: 'rt-dir', text: sorted ? (s.tableDesc ? ' ▼' : ' ▲') : '' }));
      if (sorted) c.setAttribute('aria-sort', s.tableDesc ? 'descending' : 'ascending');
      if (col) c.addEventListener('click', () => this.sortBy(col.id));
      return c;
    };
    cells.push(th(this.cols()[0], 'Run', 'rt-run-h'));
    if (this.grouping) cells.push(th(null, 'Group: ' + (columnById(this.table, s.tableGroup)?.label ?? ''), 'rt-group-h'));
    for (const c of this.cols().slice(1)) cells.push(th(c, c.label, c.kind === 'metric' ? 'rt-metric' : 'rt-hparam'));
    this.head.replaceChildren(...cells);
  }

  /** sortBy sorts by a column: ascending first, then the other way. */
  sortBy(id: string) {
    const s = this.app.state;
    if (s.tableSort === id) s.tableDesc = !s.tableDesc;
    else { s.tableSort = id; s.tableDesc = false; }
    this.app.saveState();
    this.rows();
  }

  schedule() {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => { this.raf = 0; this.render(); });
  }

  /** render draws the rows in view (and a few around). */
  render() {
    const all = this.app.runs();
    let sel = 0, shownSel = 0;
    for (const r of all) if (this.app.isSelected(r)) sel++;
    for (const i of this.shown) if (this.app.isSelected(this.table.runs[i])) shownSel++;
    this.countEl.textContent = `${this.shown.length} of ${this.table.runs.length} runs, ${sel} selected`;
    this.allBox.checked = this.shown.length > 0 && shownSel === this.shown.length;
    this.allBox.indeterminate = shownSel > 0 && shownSel < this.shown.length;
    const top = Math.max(0, this.scroller.scrollTop - this.head.offsetHeight);
    const h = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW) - 8);
    const last = Math.min(this.shown.length, Math.ceil((top + h) / ROW) + 8);
    this.rowsEl.style.transform = `translateY(${first * ROW}px)`;
    const cols = this.cols();
    const rows: HTMLElement[] = [];
    for (let j = first; j < last; j++) {
      const i = this.shown[j];
      const run = this.table.runs[i];
      const info = this.app.runInfo(run);
      const box = el('input', { type: 'checkbox' });
      box.checked = this.app.isSelected(run);
      const name = el('div', { class: 'rt-cell rt-run', title: run },
        el('span', { class: 'swatch' + (info?.baseline ? ' dashed' : ''), style: `background:${this.app.color(run)}` }), el('span', { class: 'rt-name', text: run }));
      if (info?.baseline) name.append(el('span', { class: 'baseline-badge', text: 'baseline' }));
      if (info?.note_html) name.append(el('span', { class: 'note-mark', text: '✎', title: 'has a note' }));
      const cells: HTMLElement[] = [el('div', { class: 'rt-cell rt-check' }, box), name];
      if (this.grouping) cells.push(el('div', { class: 'rt-cell rt-group', text: this.grouping.names[this.grouping.rank[i]] }));
      for (let c = 1; c < cols.length; c++) {
        const v = cols[c].cells[i];
        cells.push(el('div', { class: 'rt-cell' + (typeof v === 'number' ? ' num' : ''), text: cellText(v), title: cellKey(v) }));
      }
      const row = el('div', { class: 'rt-row' + (box.checked ? ' selected' : ''), 'data-run': run, 'data-index': String(j), role: 'row' }, ...cells);
      rows.push(row);
    }
    this.rowsEl.replaceChildren(...rows);
  }

  /** A click on a row's box (or the row) toggles its run; with shift,
   * every row from the last one clicked takes the same state. */
  private onRowClick(ev: MouseEvent) {
    const row = (ev.target as HTMLElement).closest<HTMLElement>('.rt-row');
    if (!row || row.dataset.run === undefined) return;
    const j = Number(row.dataset.index);
    const run = row.dataset.run;
    const box = row.querySelector('input')!;
    const on = ev.target === box ? box.checked : !this.app.isSelected(run);
    if (ev.shiftKey && this.lastClicked >= 0) {
      const [a, b] = this.lastClicked < j ? [this.lastClicked, j] : [j, this.lastClicked];
      const runs: string[] = [];
      for (let k = a; k <= b && k < this.shown.length; k++) runs.push(this.table.runs[this.shown[k]]);
      this.app.setSelected(runs, on);
    } else {
      this.app.setSelected([run], on);
    }
    this.lastClicked = j;
  }

  private shownRuns(): string[] { return Array.from(this.shown, (i) => this.table.runs[i]); }

  private fillSelects() {
    const s = this.app.state;
    const hp = this.cols().filter((c) => c.kind === 'hparam');
    const opts = (sel: HTMLSelectElement, none: string, cur: string) => {
      sel.replaceChildren(el('option', { value: '', text: none }), ...hp.map((c) => el('option', { value: c.id, text: c.label })));
      sel.value = hp.some((c) => c.id === cur) ? cur : '';
    };
    opts(this.filterCol, '(none)', s.tableFilterCol);
    opts(this.groupSel, '(none)', s.tableGroup);
    const col = columnById(this.table, this.filterCol.value);
    this.filterValue.hidden = !col;
    if (col) {
      const values = distinctValues(col).slice(0, 500);
      this.filterValue.replaceChildren(...values.map((v) => el('option', { value: v.key, text: `${v.text} (${v.count})` })));
      this.filterValue.value = s.tableFilterValue;
    }
  }

  private fillMetrics() {
    const s = this.app.state;
    const tags = this.app.allTagsFor('scalars');
    const search = el('input', { type: 'search', placeholder: 'Filter tags', class: 'rt-metric-filter' });
    const list = el('div', { class: 'rt-metric-list' });
    const draw = () => {
      const q = search.value.toLowerCase();
      list.replaceChildren(...tags.filter((t) => t.toLowerCase().includes(q)).slice(0, 300).map((t) => {
        const box = el('input', { type: 'checkbox', value: t });
        box.checked = s.tableMetrics.includes(t);
        box.addEventListener('change', () => {
          s.tableMetrics = box.checked ? [...s.tableMetrics, t] : s.tableMetrics.filter((m) => m !== t);
          this.app.saveState();
          this.rebuild();
        });
        return el('label', { class: 'check rt-metric', 'data-tag': t }, box, ' ' + t);
      }));
      if (!tags.length) list.append(el('div', { class: 'muted', text: 'This board has no scalars.' }));
    };
    search.addEventListener('input', draw);
    draw();
    this.metricsMenu.replaceChildren(search, list);
  }

  private downloadCSV() {
    const extra = this.grouping ? [{ label: 'group: ' + (columnById(this.table, this.app.state.tableGroup)?.label ?? ''), cells: Array.from(this.grouping.rank, (r) => this.grouping!.names[r]) }] : [];
    const csv = toCSV(this.table, this.shown, this.cols(), extra);
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    this.el.dataset.csv = String(csv.length);
    download('runs.csv', url);
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
