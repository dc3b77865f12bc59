// Images and audio (a step slider per card) and text (Markdown, sanitised).
import { AudioItem, ImageItem, TextItem } from './api';
import { BoardApp } from './board';
import { el, fmtStep } from './format';
import { PerRunView, cardHead } from './histograms';
import { renderMarkdown } from './markdown';

/** stepSlider shows one item at a time; the last one first. */
function stepSlider<T extends { step: number }>(items: T[], show: (it: T) => void, at?: number): HTMLElement {
  const label = el('span', { class: 'step-label' });
  const last = Math.max(0, items.length - 1);
  const input = el('input', { type: 'range', class: 'step-slider', min: '0', max: String(last), step: '1', value: String(at !== undefined && at < last ? at : last) });
  const set = () => {
    const it = items[+input.value];
    if (!it) return;
    label.textContent = `step ${fmtStep(it.step)}`;
    show(it);
  };
  input.addEventListener('input', set);
  set();
  const box = el('div', { class: 'slider-row' }, label, input);
  if (items.length <= 1) input.hidden = true;
  return box;
}

export class ImagesView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'images', 'image-item');
    this.render();
  }

  protected makeCard(tag: string, run: string) {
    const body = el('div', { class: 'card-body' });
    const card = el('div', { class: 'card image-item', 'data-tag': tag, 'data-run': run, 'data-state': 'idle' }, cardHead(this.app, tag, run), body);
    const draw = async () => {
      const r = await this.fetch<{ items: ImageItem[] }>('/images', run, tag);
      const items = (r.items ?? []).slice().sort((a, b) => a.step - b.step);
      if (!items.length) { body.replaceChildren(el('div', { class: 'muted', text: 'No images.' })); card.dataset.state = 'empty'; return; }
      const prev = body.querySelector('.step-slider') as HTMLInputElement | null;
      const pics = el('div', { class: 'images' });
      const slider = stepSlider(items, (it) => {
        pics.replaceChildren(...(it.blobs ?? []).map((sha, i) => {
          const img = el('img', { src: this.app.api.blob(sha), alt: `${tag} step ${fmtStep(it.step)}${it.blobs.length > 1 ? ' #' + i : ''}`, decoding: 'async' });
          if (it.width && it.height) { img.width = it.width; img.height = it.height; }
          return img;
        }));
      }, prev && prev.value !== prev.max ? +prev.value : undefined);
      body.replaceChildren(slider, pics);
      card.dataset.state = 'drawn';
    };
    return { el: card, draw };
  }
}

export class AudioView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'audio', 'audio-item');
    this.render();
  }

  protected makeCard(tag: string, run: string) {
    const body = el('div', { class: 'card-body' });
    const card = el('div', { class: 'card audio-item', 'data-tag': tag, 'data-run': run, 'data-state': 'idle' }, cardHead(this.app, tag, run), body);
    const draw = async () => {
      const r = await this.fetch<{ items: AudioItem[] }>('/audio', run, tag);
      const items = (r.items ?? []).slice().sort((a, b) => a.step - b.step);
      if (!items.length) { body.replaceChildren(el('div', { class: 'muted', text: 'No audio.' })); card.dataset.state = 'empty'; return; }
      const clips = el('div', { class: 'clips' });
      const slider = stepSlider(items, (it) => {
        clips.replaceChildren(...(it.clips ?? []).map((c) => {
          const audio = el('audio', { controls: '', preload: 'none', src: this.app.api.blob(c.blob) });
          const row = el('div', { class: 'clip' }, audio);
          if (c.label) {
            const lab = el('div', { class: 'md clip-label' });
            lab.innerHTML = renderMarkdown(c.label);
            row.append(lab);
          }
          return row;
        }));
      });
      body.replaceChildren(slider, clips);
      card.dataset.state = 'drawn';
    };
    return { el: card, draw };
  }
}

export class TextView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'text', 'text-item');
    this.render();
  }

  protected makeCard(tag: string, run: string) {
    const body = el('div', { class: 'card-body' });
    const card = el('div', { class: 'card text-item', 'data-tag': tag, 'data-run': run, 'data-state': 'idle' }, cardHead(this.app, tag, run), body);
    const draw = async () => {
      const r = await this.fetch<{ items: TextItem[] }>('/text', run, tag);
      const items = (r.items ?? []).slice().sort((a, b) => b.step - a.step); // newest first
      if (!items.length) { body.replaceChildren(el('div', { class: 'muted', text: 'No text.' })); card.dataset.state = 'empty'; return; }
      body.replaceChildren(...items.map((it) => el('div', { class: 'text-step' }, el('div', { class: 'step-label', text: `step ${fmtStep(it.step)}` }), textBody(it))));
      card.dataset.state = 'drawn';
    };
    return { el: card, draw };
  }
}

function textBody(it: TextItem): HTMLElement {
  const strs = it.strings ?? [];
  const shape = it.shape ?? [];
  if (shape.length === 2 && shape[0] * shape[1] === strs.length && strs.length > 1) {
    const [rows, cols] = shape;
    const t = el('table', { class: 'text-table' });
    for (let i = 0; i < rows; i++) {
      const tr = el('tr');
      for (let j = 0; j < cols; j++) {
        const td = el('td', { class: 'md' });
        td.innerHTML = renderMarkdown(strs[i * cols + j]);
        tr.append(td);
      }
      t.append(tr);
    }
    return t;
  }
  const d = el('div', { class: 'md' });
  d.innerHTML = strs.map((s) => renderMarkdown(s)).join('\n<hr>\n');
  return d;
}
