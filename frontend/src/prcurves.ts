// PR curves: one chart per tag with every visible run's curve at the
// chosen step (precision against recall).
import uPlot from 'uplot';
import { PRItem } from './api';
import { padding, recordAxes, xAxis, yAxis } from './axes';
import { BoardApp } from './board';
import { el, fmtStep, fmtValue, nearest } from './format';
import { PerRunView } from './histograms';
import { PRPoint, prPoints } from './prpoints';

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
    const readout = el('div', { class: 'pr-readout muted' });
    const body = el('div', { class: 'card-body' }, el('div', { class: 'slider-row' }, label, slider), plot, readout);
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
        label.textContent = `step ${fmtStep(step)}`;
        const data: unknown[] = [null];
        const series: uPlot.Series[] = [{}];
        const curves: { run: string; pts: PRPoint[] }[] = [];
        for (const g of got) {
          if (!g.items.length) continue;
          const it = g.items[nearest(g.items.map((i) => i.step), step)];
          const pts = prPoints(it);
          curves.push({ run: g.run, pts });
          data.push([pts.map((p) => p.recall), pts.map((p) => p.precision)]);
          series.push({ label: g.run, stroke: this.app.color(g.run), width: 1.5, points: { show: false }, paths: uPlot.paths.linear!(),
            facets: [{ scale: 'x', auto: true }, { scale: 'y', auto: true }] } as uPlot.Series);
        }
        u?.destroy();
        plot.replaceChildren();
        u = new uPlot({
          mode: 2, width: body.clientWidth || 400, height: 240, legend: { show: false }, series,
          scales: { x: { time: false, auto: true, range: () => [0, 1] }, y: { auto: true, range: () => [0, 1.02] } },
          padding: padding(),
          axes: [xAxis('value', { label: 'recall', labelSize: 16 }), yAxis('value', { label: 'precision', labelSize: 16 })],
          cursor: { drag: { x: false, y: false }, points: { show: false } } as uPlot.Cursor,
          hooks: {
            draw: [(u) => recordAxes(u, card)],
            setCursor: [(u) => {
              // the point of each curve nearest the cursor, with its threshold
              const left = u.cursor.left ?? -1, top = u.cursor.top ?? -1;
              if (left < 0) { readout.replaceChildren(); return; }
              const rows = curves.map(({ run, pts }) => {
                let best: PRPoint | null = null, bd = Infinity;
                for (const p of pts) {
                  const d = Math.hypot(u.valToPos(p.recall, 'x') - left, u.valToPos(p.precision, 'y') - top);
                  if (d < bd) { bd = d; best = p; }
                }
                return best ? el('tr', {}, el('td', {}, el('span', { class: 'swatch', style: `background:${this.app.color(run)}` })), el('td', { text: run }),
                  el('td', { class: 'num pr-threshold', text: fmtValue(best.threshold) }), el('td', { class: 'num', text: fmtValue(best.precision) }),
                  el('td', { class: 'num', text: fmtValue(best.recall) })) : null;
              }).filter((r): r is HTMLTableRowElement => r !== null);
              readout.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, el('th'), el('th', { text: 'Run' }), el('th', { text: 'Threshold' }), el('th', { text: 'Precision' }), el('th', { text: 'Recall' }))), el('tbody', {}, ...rows)));
            }],
          },
        }, data as unknown as uPlot.AlignedData, plot);
      };
      slider.oninput = show;
      show();
      card.dataset.state = 'drawn';
    };
    return { el: card, draw, destroy: () => u?.destroy() };
  }
}
