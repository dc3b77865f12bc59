// Run notes and the owner's edits: the note shown beside a run (the
// server's note_html, sanitised by it, is the only text inserted as
// HTML), the owner's write token kept for the tab (sessionStorage), and
// the editor where the owner writes a run's note and marks it a
// baseline.
import { RunInfo } from './api';
import { el } from './format';

const TOKEN_KEY = 'tbhost.token.';

/** ownerToken is the write token this tab holds for a board ('' when none). */
export function ownerToken(board: string): string {
  try { return sessionStorage.getItem(TOKEN_KEY + board) ?? ''; } catch { return ''; }
}

/** setOwnerToken keeps (or, with '', forgets) a board's write token for
 * the tab's life. */
export function setOwnerToken(board: string, token: string) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY + board, token);
    else sessionStorage.removeItem(TOKEN_KEY + board);
  } catch { /* storage refused: the token lasts as long as the page */ }
}

/** noteElement is a run's note as HTML from note_html ('' gives an empty
 * element). */
export function noteElement(info: RunInfo | undefined, cls = 'note md'): HTMLElement {
  const d = el('div', { class: cls });
  d.innerHTML = info?.note_html ?? '';
  return d;
}

/**
 * NotePopover shows one run's note beside an element (a row of the runs
 * list or of the runs table) while the pointer is on it.
 */
export class NotePopover {
  readonly el: HTMLElement;
  private timer = 0;
  private run = '';

  constructor() {
    this.el = el('div', { id: 'note-pop', class: 'note-pop', role: 'tooltip' });
    this.el.hidden = true;
    this.el.addEventListener('mouseenter', () => clearTimeout(this.timer));
    this.el.addEventListener('mouseleave', () => this.hide());
    document.body.append(this.el);
  }

  show(anchor: HTMLElement, run: string, info: RunInfo | undefined) {
    clearTimeout(this.timer);
    if (!info?.note_html && !info?.baseline) { this.hide(0); return; }
    if (this.run !== run || this.el.hidden) {
      this.run = run;
      this.el.dataset.run = run;
      const head = el('div', { class: 'note-head' }, el('strong', { text: run }));
      if (info.baseline) head.append(el('span', { class: 'baseline-badge', text: 'baseline' }));
      this.el.replaceChildren(head, noteElement(info));
    }
    const r = anchor.getBoundingClientRect();
    this.el.hidden = false;
    const w = this.el.offsetWidth, h = this.el.offsetHeight;
    let x = r.right + 8;
    if (x + w > innerWidth - 4) x = Math.max(4, r.left - w - 8);
    const y = Math.max(4, Math.min(r.top, innerHeight - h - 4));
    this.el.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }

  /** hide hides the note after delay ms (the pointer may be on its way
   * into it). */
  hide(delay = 150) {
    clearTimeout(this.timer);
    const go = () => { this.el.hidden = true; this.run = ''; };
    if (delay) this.timer = window.setTimeout(go, delay); else go();
  }
}

/** What the editor saves. */
export interface NoteEdit { note: string; baseline: boolean }

/**
 * NoteEditor is the owner's dialog for one run: its note (Markdown) and
 * whether it is a baseline. save does the write and says what went
 * wrong by throwing; the dialog then stays open with the sentence.
 */
export class NoteEditor {
  private dialog: HTMLDialogElement;
  private text: HTMLTextAreaElement;
  private baseline: HTMLInputElement;
  private error: HTMLElement;
  private title: HTMLElement;
  private save: ((e: NoteEdit) => Promise<void>) | null = null;

  constructor() {
    this.text = el('textarea', { id: 'note-text', rows: '8', placeholder: 'What this run is (Markdown)' });
    this.baseline = el('input', { id: 'note-baseline', type: 'checkbox' });
    this.error = el('div', { id: 'note-error', class: 'warn' });
    this.title = el('h2', { id: 'note-title' });
    const saveBtn = el('button', { id: 'note-save', type: 'submit', class: 'btn primary', text: 'Save' });
    const cancel = el('button', { id: 'note-cancel', type: 'button', class: 'btn', text: 'Cancel' });
    const form = el('form', { method: 'dialog' }, this.title, this.text,
      el('label', { class: 'check' }, this.baseline, ' Baseline: always drawn, dashed, listed first'),
      this.error, el('div', { class: 'dialog-actions' }, cancel, saveBtn));
    this.dialog = el('dialog', { id: 'note-editor', class: 'note-editor' }, form);
    cancel.addEventListener('click', () => this.dialog.close());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!this.save) return;
      saveBtn.disabled = true;
      this.error.textContent = '';
      try {
        await this.save({ note: this.text.value, baseline: this.baseline.checked });
        this.dialog.close();
      } catch (e) {
        this.error.textContent = (e as Error).message;
      } finally {
        saveBtn.disabled = false;
      }
    });
    document.body.append(this.dialog);
  }

  open(run: string, info: RunInfo | undefined, save: (e: NoteEdit) => Promise<void>) {
    this.save = save;
    this.dialog.dataset.run = run;
    this.title.textContent = 'Run ' + run;
    this.text.value = info?.note ?? '';
    this.baseline.checked = !!info?.baseline;
    this.error.textContent = '';
    this.dialog.showModal();
    this.text.focus();
  }
}
