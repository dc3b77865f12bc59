// uPlot axes whose labels fit: the tick labels come from the formatters
// of format.ts, and each axis' size (a y axis' width), its minimum tick
// spacing and the plot's right padding are measured from the labels it
// actually shows, so that no label is clipped or overlaps its neighbour.
import uPlot from 'uplot';
import { RELATIVE_INCRS, STEP_INCRS, durationTicks, logTicks, stepTicks, timeTicks, valueTicks } from './format';

export const AXIS_FONT = '11px system-ui, sans-serif';
const FONT_PX = 11;
const TICK = 6; // tick length, CSS px
const GAP = 4; // between a tick and its label
/** LABEL_GAP: the least free space between two x labels. */
const LABEL_GAP = 14;

/** Kind says what an axis shows, hence how its ticks are labelled. */
export type Kind = 'step' | 'value' | 'log' | 'relative' | 'wall';

let measurer: CanvasRenderingContext2D | null = null;

/** textWidth measures a label in the axis font, in CSS pixels. */
export function textWidth(s: string, font = AXIS_FONT): number {
  if (!measurer) measurer = document.createElement('canvas').getContext('2d');
  if (!measurer) return s.length * FONT_PX * 0.62;
  measurer.font = font;
  let w = 0;
  for (const line of s.split('\n')) w = Math.max(w, measurer.measureText(line).width);
  return w;
}

function widest(labels: readonly (string | number | null | undefined)[] | null | undefined): number {
  let w = 0;
  for (const l of labels ?? []) if (l != null && l !== '') w = Math.max(w, textWidth(String(l)));
  return w;
}

/** labels formats the ticks of an axis of a kind. */
export function labels(kind: Kind, splits: readonly (number | null)[], incr: number): string[] {
  switch (kind) {
    case 'step': return stepTicks(splits, incr);
    case 'log': return logTicks(splits);
    case 'relative': return durationTicks(splits, incr);
    case 'wall': return timeTicks(splits, incr);
    default: return valueTicks(splits, incr);
  }
}

/** Internal uPlot axis state that the layout reads (uPlot 1.6). */
interface AxisState { _values?: (string | null)[] | null; _splits?: number[] | null; _size?: number; _pos?: number; _found?: [number, number]; scale?: string; side?: number }

/** xSpace: the least spacing of x ticks, from the widest label the range
 * would get at about 8 ticks, so that neighbours never overlap. */
function xSpace(kind: Kind) {
  return (_u: uPlot, _i: number, min: number, max: number, dim: number): number => {
    if (!(max > min)) return 50;
    const guess = (max - min) / Math.max(2, Math.min(8, dim / 60));
    const probe = [min, min + guess, (min + max) / 2, max];
    return Math.max(40, Math.ceil(widest(labels(kind, probe, guess)) + LABEL_GAP));
  };
}

/** xAxis: the bottom axis of a kind. */
export function xAxis(kind: Kind, extra: uPlot.Axis = {}): uPlot.Axis {
  const a: uPlot.Axis = {
    stroke: '#555', grid: { stroke: '#eee', width: 1 }, ticks: { stroke: '#ddd', width: 1, size: TICK }, gap: GAP,
    font: AXIS_FONT, space: xSpace(kind),
    size: (_u, values) => Math.ceil(TICK + GAP + FONT_PX * 1.5 * Math.max(1, ...(values ?? ['']).map((v) => String(v ?? '').split('\n').length)) + 4),
    values: (_u: uPlot, splits: number[], _i: number, _space: number, incr: number) => labels(kind, splits, incr),
    ...extra,
  };
  if (kind === 'step') a.incrs = STEP_INCRS;
  if (kind === 'relative') a.incrs = RELATIVE_INCRS;
  return a;
}

/** LOG_GAP: the least vertical spacing of two log-axis labels, CSS px. */
const LOG_GAP = 20;

/** logSplits: every 1..9 × 10^k inside [min, max], written exactly. */
export function logSplits(min: number, max: number): number[] {
  const out: number[] = [];
  if (!(min > 0) || !(max > min)) return out;
  for (let e = Math.floor(Math.log10(min)) - 1; e <= Math.ceil(Math.log10(max)); e++) {
    for (let m = 1; m <= 9; m++) {
      const v = Number(`${m}e${e}`);
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

/**
 * logShown picks the log ticks to label (the others become null) for a
 * decade that is perDecade px tall: all of 1..9 × 10^k when they are
 * LOG_GAP apart, else 1, 2, 3, 5, else 1, 2, 5, else the decades, or every
 * n-th decade (the exponents that are multiples of n).
 */
export function logShown(splits: readonly (number | null)[], perDecade: number): (number | null)[] {
  const gap = (a: number, b: number) => perDecade * Math.log10(b / a);
  let ms: number[] | null = null;
  for (const cand of [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 5], [1, 2, 5], [1]]) {
    let ok = true;
    for (let i = 0; i < cand.length; i++) if (gap(cand[i], cand[i + 1] ?? 10) < LOG_GAP) ok = false;
    if (ok) { ms = cand; break; }
  }
  const every = ms ? 1 : Math.max(1, Math.ceil(LOG_GAP / Math.max(perDecade, 1e-9)));
  const keep = new Set(ms ?? [1]);
  return splits.map((v) => {
    if (v == null || !(v > 0)) return null;
    const [m, e] = v.toExponential().split('e').map(Number);
    if (!keep.has(Math.round(m)) || Math.abs(m - Math.round(m)) > 1e-9) return null;
    return ((e % every) + every) % every === 0 ? v : null;
  });
}

/** yAxis: the left axis of a kind, as wide as its widest label, and at
 * least half the widest x label (the first x label sits on its edge). */
export function yAxis(kind: Kind, extra: uPlot.Axis = {}): uPlot.Axis {
  return {
    stroke: '#555', grid: { stroke: '#eee', width: 1 }, ticks: { stroke: '#ddd', width: 1, size: TICK }, gap: GAP,
    font: AXIS_FONT,
    size: (u, values) => {
      const x = u.axes[0] as AxisState;
      const half = widest(x._values) / 2 + 2;
      return Math.ceil(Math.max(widest(values) + TICK + GAP + 3, half, 24));
    },
    values: kind === 'log' ? (_u: uPlot, splits: number[]) => labels('log', splits, 0)
      : (_u: uPlot, splits: number[], _i: number, _space: number, incr: number) => labels(kind, splits, incr),
    ...(kind === 'log' ? logLayout() : {}),
    ...extra,
  };
}

/** logLayout: the splits and filters of a log y axis (uPlot's own
 * assume a range that starts at a power of 10). */
function logLayout(): uPlot.Axis {
  const filter = (u: uPlot, splits: number[]) => {
    const perDecade = Math.abs(u.valToPos(1, 'y') - u.valToPos(10, 'y'));
    return logShown(splits, perDecade) as number[];
  };
  return {
    splits: (_u: uPlot, _i: number, min: number, max: number) => logSplits(min, max),
    filter,
    grid: { stroke: '#eee', width: 1, filter },
    ticks: { stroke: '#ddd', width: 1, size: TICK, filter },
  };
}

/** padding: room on the right for half the last x label. */
export function padding(): uPlot.Padding {
  const right = (u: uPlot) => {
    const x = u.axes[0] as AxisState;
    const v = x._values;
    let last = '';
    for (let i = (v?.length ?? 0) - 1; i >= 0; i--) if (v![i]) { last = String(v![i]); break; }
    return Math.max(12, Math.ceil(textWidth(last) / 2 + 4));
  };
  return [10, right, null, null] as unknown as uPlot.Padding;
}

/**
 * recordAxes writes what each axis drew on the chart's element (data-axes,
 * JSON): its labels, their ticks' values and positions in CSS pixels from
 * the canvas' left or top, the axis' size, the font and the canvas and
 * plot boxes. The browser tests read it; it costs a few hundred bytes.
 */
export function recordAxes(u: uPlot, target: HTMLElement) {
  const pr = uPlot.pxRatio || 1;
  const left = u.bbox.left / pr, top = u.bbox.top / pr;
  const axes = u.axes.map((a) => {
    const s = a as AxisState;
    const splits = s._splits ?? [];
    const hz = (s.side ?? 2) % 2 === 0;
    return {
      side: s.side, size: s._size, pos: s._pos, incr: s._found?.[0] ?? 0,
      labels: (s._values ?? []).map((v) => (v == null ? '' : String(v))),
      splits,
      px: splits.map((v) => u.valToPos(v, s.scale ?? (hz ? 'x' : 'y')) + (hz ? left : top)),
    };
  });
  target.dataset.axes = JSON.stringify({
    font: AXIS_FONT, tick: TICK, gap: GAP, width: u.width, height: u.height,
    plot: { left, top, width: u.bbox.width / pr, height: u.bbox.height / pr },
    scales: { x: [u.scales.x.min, u.scales.x.max], y: [u.scales.y.min, u.scales.y.max] },
    axes,
  });
}
