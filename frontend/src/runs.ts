// The runs sidebar: a virtualised list (only the rows in view exist in the
// DOM, so 1000s of runs cost nothing), a substring/regex filter and
// select all/none. Baselines come first and stay listed whatever the
// filter; a run's note shows while the pointer is on its row, and the
// owner gets an edit button per run.
import { RunInfo } from './api';
import { compileFilter, el } from './format';
import { NotePopover } from './notes';

export interface RunsHost {
  runs(): string[];
  color(run: string): string;
  isSelected(run: string): boolean;
  setSelected(runs: string[], on: boolean): void;
  filterChanged(text: string, regex: boolean): void;
  runInfo(run: string): RunInfo | undefined;
  isBaseline(run: string): boolean;
  canEdit(run: string): boolean;
  editRun(run: string): void;
  readonly notePop: NotePopover;
}

const ROW = 24;

export class RunList {
  private list: HTMLElement;
  private spacer: HTMLElement;
  private rows: HTMLElement;
  private shown: string[] = [];
  private filterText = '';
  private regex = false;
  private raf = 0;
  private countEl: HTMLElement;
  private filterInput: HTMLInputElement;
  private regexBox: HTMLInputElement;

  constructor(private host: RunsHost, filter: string, regex: boolean) {
    this.list = document.getElementById('runs')!;
    this.countEl = document.getElementById('runs-count')!;
    this.filterInput = document.getElementById('run-filter') as HTMLInputElement;
    this.regexBox = document.getElementById('run-regex') as HTMLInputElement;
    this.spacer = el('div', { class: 'runs-spacer' });
    this.rows = el('div', { class: 'runs-rows' });
    this.spacer.append(this.rows);
    this.list.append(this.spacer);
    this.filterText = filter;
    this.regex = regex;
    this.filterInput.value = filter;
    this.regexBox.checked = regex;

    let timer = 0;
    const onFilter = () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        this.filterText = this.filterInput.value;
        this.regex = this.regexBox.checked;
        this.refilter();
        this.host.filterChanged(this.filterText, this.regex);
      }, 120);
    };
    this.filterInput.addEventListener('input', onFilter);
    this.regexBox.addEventListener('change', onFilter);
    // All and None act on the runs the filter matches
    const matching = () => this.shown.filter((r) => this.compiled.test(r));
    document.getElementById('runs-all')!.addEventListener('click', () => this.host.setSelected(matching(), true));
    document.getElementById('runs-none')!.addEventListener('click', () => this.host.setSelected(matching(), false));
    this.list.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.list);
    this.rows.addEventListener('change', (ev) => {
      const t = ev.target as HTMLInputElement;
      const run = t.closest<HTMLElement>('.run-item')?.dataset.run;
      if (run !== undefined) this.host.setSelected([run], t.checked);
    });
    this.rows.addEventListener('click', (ev) => {
      const b = (ev.target as HTMLElement).closest('.run-edit');
      const run = b?.closest<HTMLElement>('.run-item')?.dataset.run;
      if (!b || run === undefined) return;
      ev.preventDefault();
      this.host.editRun(run);
    });
    this.rows.addEventListener('mouseover', (ev) => {
      const row = (ev.target as HTMLElement).closest<HTMLElement>('.run-item');
      if (row?.dataset.run !== undefined) this.host.notePop.show(row, row.dataset.run, this.host.runInfo(row.dataset.run));
    });
    this.rows.addEventListener('mouseleave', () => this.host.notePop.hide());
    this.refilter();
  }

  /** matches reports whether a run passes the filter. */
  matches(run: string): boolean { return this.compiled.test(run); }

  private compiled = compileFilter('', false);

  refilter() {
    this.compiled = compileFilter(this.filterText, this.regex);
    this.filterInput.classList.toggle('invalid', !!this.compiled.error);
    this.filterInput.title = this.compiled.error;
    this.shown = this.host.runs().filter((r) => this.host.isBaseline(r) || this.compiled.test(r));
    this.spacer.style.height = this.shown.length * ROW + 'px';
    this.render();
  }

  schedule() {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => { this.raf = 0; this.render(); });
  }

  render() {
    const all = this.host.runs();
    let sel = 0;
    for (const r of all) if (this.host.isSelected(r)) sel++;
    this.countEl.textContent = `${sel}/${all.length} selected` + (this.shown.length !== all.length ? `, ${this.shown.length} shown` : '');
    const top = this.list.scrollTop;
    const h = this.list.clientHeight || 600;
    const last = Math.min(this.shown.length, Math.ceil((top + h) / ROW) + 10);
    const first = Math.max(0, Math.min(Math.floor(top / ROW) - 10, last - Math.ceil(h / ROW) - 20));
    this.rows.style.transform = `translateY(${first * ROW}px)`;
    const frag = document.createDocumentFragment();
    const existing = this.rows.children;
    // reuse row elements: update in place, add or drop the difference
    const need = Math.max(0, last - first);
    while (existing.length > need) this.rows.lastElementChild!.remove();
    for (let i = 0; i < need; i++) {
      const run = this.shown[first + i];
      let row = existing[i] as HTMLElement | undefined;
      if (!row) {
        const box = el('input', { type: 'checkbox' });
        row = el('label', { class: 'run-item', role: 'listitem' }, box, el('span', { class: 'swatch' }), el('span', { class: 'run-name' }), el('span', { class: 'run-extra' }));
        frag.append(row);
      }
      if (row.dataset.run !== run) {
        row.dataset.run = run;
        (row.children[2] as HTMLElement).textContent = run;
        row.title = run;
      }
      // colours follow the runs table's groups; notes and baselines the owner
      (row.children[1] as HTMLElement).style.background = this.host.color(run);
      const info = this.host.runInfo(run);
      const sig = [info?.baseline ? 'b' : '', info?.note_html ? 'n' : '', this.host.canEdit(run) ? 'e' : ''].join('');
      if (row.dataset.extra !== sig) {
        row.dataset.extra = sig;
        row.classList.toggle('baseline', !!info?.baseline);
        (row.children[1] as HTMLElement).classList.toggle('dashed', !!info?.baseline);
        const extra: HTMLElement[] = [];
        if (info?.baseline) extra.push(el('span', { class: 'baseline-badge', text: 'baseline' }));
        if (info?.note_html) extra.push(el('span', { class: 'note-mark', text: '✎', title: 'has a note' }));
        if (this.host.canEdit(run)) extra.push(el('button', { type: 'button', class: 'run-edit btn small', text: 'Edit', title: 'Edit the note, or mark as baseline' }));
        (row.children[3] as HTMLElement).replaceChildren(...extra);
      }
      (row.children[0] as HTMLInputElement).checked = this.host.isSelected(run);
    }
    this.rows.append(frag);
  }
}
