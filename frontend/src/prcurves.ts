// PR curves: one chart per tag with every visible run's curve at the
// chosen step (precision against recall).
import uPlot from 'uplot';
import { PRItem, num } from './api';
import { BoardApp } from './board';
import { el, fmtNum, nearest } from './format';
import { PerRunView } from './histograms';

export class PRCurvesView extends PerRunView {
  constructor(app: BoardApp, content: HTMLElement, toolbar: HTMLElement) {
    super(app, content, toolbar, 'pr_curves', 'pr-card');
    this.render();
  }

  /** One card per tag (all runs in it): override the per-run layout. */
  protected render() {
    const byTag = this.app.tagsFor('pr_curves');
    const re = (() => { try { return new RegExp(this.app.state.tagFilter, 'i'); } catch { return /$^/; } })();
    const grid = el('div', { class: 'grid' });
    const want = new Set<string>();
    for (const [tag, runs] of byTag) {
      if (!re.test(tag)) continue;
      const key = tag + '\u0000' + runs.join('\u0001');
      want.add(key);
      let c = this.cards.get(key);
      if (!c) {
        const made = this.makeTagCard(tag, runs);
        const card = { ...made, visible: false, stale: true };
        this.cards.set(key, card);
        this.lazy.observe(made.el, (v) => { card.visible = v; if (v && card.stale) { card.stale = false; card.draw().catch((e) => this.fail(card.el, e)); } });
        c = card;
      }
      grid.append(c.el);
    }
    for (const [key, c] of this.cards) if (!want.has(key)) { this.lazy.unobserve(c.el); c.destroy?.(); this.cards.delete(key); }
    this.groupsEl.replaceChildren(grid);
    if (!want.size) this.groupsEl.append(el('p', { class: 'message empty', text: 'No selected run has PR curves.' }));
  }

  protected makeCard(): { el: HTMLElement; draw: () => Promise<void> } { throw new Error('unused'); }

  private makeTagCard(tag: string, runs: string[]) {
    const plot = el('div', { class: 'plot' });
    const label = el('span', { class: 'step-label' });
    const slider = el('input', { type: 'range', class: 'step-slider', min: '0', max: '0', step: '1', value: '0' });
    const body = el('div', { class: 'card-body' }, el('div', { class: 'slider-row' }, label, slider), plot);
    const card = el('div', { class: 'card pr-card', 'data-tag': tag, 'data-state': 'idle' },
      el('div', { class: 'chart-head' }, el('span', { class: 'chart-title', text: tag })), body);
    let u: uPlot | null = null;
    const draw = async () => {
      const got = await Promise.all(runs.map(async (run) => {
        const r = await this.fetch<{ items: PRItem[] }>('/pr_curves', run, tag);
        return { run, items: (r.items ?? []).slice().sort((a, b) => a.step - b.step) };
      }));
      const steps = [...new Set(got.flatMap((g) => g.items.map((i) => i.step)))].sort((a, b) => a - b);
      slider.max = String(Math.max(0, steps.length - 1));
      slider.value = slider.max;
      slider.hidden = steps.length <= 1;
      const show = () => {
        const step = steps[+slider.value] ?? 0;
        label.textContent = `step ${step}`;
        const data: unknown[] = [null];
        const series: uPlot.Series[] = [{}];
        for (const g of got) {
          if (!g.items.length) continue;
          const it = g.items[nearest(g.items.map((i) => i.step), step)];
          const rec = (it.recall ?? []).map(num), prec = (it.precision ?? []).map(num);
          const idx = rec.map((_, i) => i).filter((i) => Number.isFinite(rec[i]) && Number.isFinite(prec[i])).sort((a, b) => rec[a] - rec[b]);
          data.push([idx.map((i) => rec[i]), idx.map((i) => prec[i])]);
          series.push({ label: g.run, stroke: this.app.color(g.run), width: 1.5, points: { show: false }, paths: uPlot.paths.linear!(),
            facets: [{ scale: 'x', auto: true }, { scale: 'y', auto: true }] } as uPlot.Series);
        }
        u?.destroy();
        plot.replaceChildren();
        u = new uPlot({
          mode: 2, width: body.clientWidth || 400, height: 240, legend: { show: false }, series,
          scales: { x: { time: false, auto: true, range: () => [0, 1] }, y: { auto: true, range: () => [0, 1.02] } },
          axes: [{ label: 'recall', stroke: '#555', grid: { stroke: '#eee' }, font: '11px system-ui, sans-serif', labelSize: 16 },
            { label: 'precision', stroke: '#555', grid: { stroke: '#eee' }, size: 44, font: '11px system-ui, sans-serif', values: (_u, s) => s.map(fmtNum), labelSize: 16 }],
          cursor: { drag: { x: false, y: false }, points: { show: false } } as uPlot.Cursor,
        }, data as unknown as uPlot.AlignedData, plot);
      };
      slider.oninput = show;
      show();
      card.dataset.state = 'drawn';
    };
    return { el: card, draw, destroy: () => u?.destroy() };
  }
}
