// The runs sidebar: a virtualised list (only the rows in view exist in the
// DOM, so 1000s of runs cost nothing), a substring/regex filter and
// select all/none.
import { compileFilter, el } from './format';

export interface RunsHost {
  runs(): string[];
  color(run: string): string;
  isSelected(run: string): boolean;
  setSelected(runs: string[], on: boolean): void;
  filterChanged(text: string, regex: boolean): void;
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
    document.getElementById('runs-all')!.addEventListener('click', () => this.host.setSelected(this.shown, true));
    document.getElementById('runs-none')!.addEventListener('click', () => this.host.setSelected(this.shown, false));
    this.list.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.list);
    this.rows.addEventListener('change', (ev) => {
      const t = ev.target as HTMLInputElement;
      const run = t.closest<HTMLElement>('.run-item')?.dataset.run;
      if (run !== undefined) this.host.setSelected([run], t.checked);
    });
    this.refilter();
  }

  /** matches reports whether a run passes the filter. */
  matches(run: string): boolean { return this.compiled.test(run); }

  private compiled = compileFilter('', false);

  refilter() {
    this.compiled = compileFilter(this.filterText, this.regex);
    this.filterInput.classList.toggle('invalid', !!this.compiled.error);
    this.filterInput.title = this.compiled.error;
    this.shown = this.host.runs().filter((r) => this.compiled.test(r));
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
        row = el('label', { class: 'run-item', role: 'listitem' }, box, el('span', { class: 'swatch' }), el('span', { class: 'run-name' }));
        frag.append(row);
      }
      if (row.dataset.run !== run) {
        row.dataset.run = run;
        (row.children[2] as HTMLElement).textContent = run;
        row.title = run;
        (row.children[1] as HTMLElement).style.background = this.host.color(run);
      }
      (row.children[0] as HTMLInputElement).checked = this.host.isSelected(run);
    }
    this.rows.append(frag);
  }
}
