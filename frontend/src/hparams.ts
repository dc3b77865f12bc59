// HParams: one row per run with its hyperparameters and final metrics;
// sortable columns and a filter.
import { HParamsResponse, num } from './api';
import { BoardApp, View } from './board';
import { compileFilter, el, fmtValue } from './format';

type Cell = string | number | boolean | null;

function cell(v: unknown): Cell {
  if (v == null) return null;
  if (typeof v === 'object' && v !== null && 'value' in (v as Record<string, unknown>)) return cell((v as Record<string, unknown>).value);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return num(v);
    return v;
  }
  return JSON.stringify(v);
}

export class HParamsView implements View {
  private data: HParamsResponse | null = null;
  private sortCol = 0;
  private sortDir = 1;
  private filter: HTMLInputElement;
  private tableWrap: HTMLElement;

  constructor(private app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    this.filter = el('input', { id: 'hparams-filter', type: 'search', placeholder: 'Filter rows (substring or /regex/)', autocomplete: 'off' });
    this.filter.addEventListener('input', () => this.render());
    toolbar.append(el('label', { class: 'field grow' }, this.filter));
    this.tableWrap = el('div', { class: 'card hparams-wrap' });
    content.append(this.tableWrap);
    this.load();
  }

  private async load() {
    try {
      this.data = await this.app.api.get<HParamsResponse>('/hparams');
      this.render();
    } catch (e) {
      this.tableWrap.replaceChildren(el('div', { class: 'error', text: 'error: ' + (e as Error).message }));
    }
  }

  private render() {
    const runsData = this.data?.runs ?? {};
    const visible = new Set(this.app.visibleRuns());
    // a run's hparams may sit in a sub-run ("run/1712345"): show it when its parent run is visible too
    const isVisible = (r: string) => visible.has(r) || [...visible].some((v) => r.startsWith(v + '/')) || !this.app.runs().includes(r);
    const hp = new Set<string>(), mt = new Set<string>();
    const rows: { run: string; cells: Cell[] }[] = [];
    const names = Object.keys(runsData).filter(isVisible).sort();
    for (const r of names) { for (const k of Object.keys(runsData[r].hparams ?? {})) hp.add(k); for (const k of Object.keys(runsData[r].metrics ?? {})) mt.add(k); }
    const hpk = [...hp].sort(), mtk = [...mt].sort();
    for (const r of names) {
      const d = runsData[r];
      rows.push({ run: r, cells: [r, ...hpk.map((k) => cell(d.hparams?.[k])), ...mtk.map((k) => cell(d.metrics?.[k]))] });
    }
    const f = compileFilter(this.filter.value, false);
    const shown = rows.filter((row) => f.test(row.cells.map((c) => (c == null ? '' : String(c))).join(' ')));
    const c = this.sortCol, dir = this.sortDir;
    shown.sort((a, b) => {
      const x = a.cells[c], y = b.cells[c];
      if (x == null && y == null) return 0;
      if (x == null) return 1;
      if (y == null) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
      return String(x).localeCompare(String(y), undefined, { numeric: true }) * dir;
    });
    if (!rows.length) { this.tableWrap.replaceChildren(el('p', { class: 'message empty', text: 'No hparams for the selected runs.' })); return; }
    const cols = ['Run', ...hpk, ...mtk];
    const head = el('tr', {}, ...cols.map((name, i) => {
      const th = el('th', { class: i > hpk.length ? 'metric' : i > 0 ? 'hparam' : 'run', 'data-col': String(i), title: i > hpk.length ? 'metric' : i > 0 ? 'hyperparameter' : '' },
        name + (i === c ? (dir > 0 ? ' ▲' : ' ▼') : ''));
      th.addEventListener('click', () => { if (this.sortCol === i) this.sortDir = -this.sortDir; else { this.sortCol = i; this.sortDir = 1; } this.render(); });
      return th;
    }));
    const body = el('tbody', {}, ...shown.map((row) => el('tr', { 'data-run': row.run }, ...row.cells.map((v, i) => {
      const td = el('td', { class: typeof v === 'number' ? 'num' : '', text: v == null ? '' : typeof v === 'number' ? fmtValue(v) : String(v) });
      if (i === 0) td.prepend(el('span', { class: 'swatch', style: `background:${this.app.color(row.run)}` }));
      return td;
    }))));
    this.tableWrap.replaceChildren(el('table', { id: 'hparams-table', class: 'hparams' }, el('thead', {}, head), body),
      el('div', { class: 'muted', text: `${shown.length} of ${rows.length} runs` }));
  }

  update() { this.render(); }
  refresh() { this.load(); }
  destroy() { /* nothing held */ }
}
