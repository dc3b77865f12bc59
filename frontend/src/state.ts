// The view state that a shared link carries, kept in the URL's hash so
// the server's routes and the ?key= query stay untouched.

export type XAxis = 'step' | 'relative' | 'wall';

export interface ViewState {
  tab: string;
  runFilter: string;
  runRegex: boolean;
  tagFilter: string;
  smoothing: number;
  x: XAxis;
  logY: boolean;
  band: boolean;
  histMode: 'offset' | 'overlay';
  /** Runs explicitly turned off (when most runs are on) ... */
  off: string[];
  /** ... or the only runs turned on (when most are off); null: not used. */
  on: string[] | null;
  /** The runs table: shown, its metrics (scalar tags), the column it is
   * sorted by ('' the runs' order) and how, the column it groups by, and
   * one filter: rows whose cell in filterCol is filterValue. */
  table: boolean;
  tableMetrics: string[];
  tableSort: string;
  tableDesc: boolean;
  tableGroup: string;
  tableFilterCol: string;
  tableFilterValue: string;
}

export const defaults: ViewState = {
  tab: '', runFilter: '', runRegex: false, tagFilter: '', smoothing: 0.6, x: 'step', logY: false, band: true,
  histMode: 'offset', off: [], on: null,
  table: false, tableMetrics: [], tableSort: '', tableDesc: false, tableGroup: '', tableFilterCol: '', tableFilterValue: '',
};

export function readState(hash: string): ViewState {
  const s: ViewState = { ...defaults, off: [], on: null, tableMetrics: [] };
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  if (q.has('tab')) s.tab = q.get('tab')!;
  if (q.has('runs')) s.runFilter = q.get('runs')!;
  s.runRegex = q.get('regex') === '1';
  if (q.has('tags')) s.tagFilter = q.get('tags')!;
  if (q.has('smoothing')) {
    const v = parseFloat(q.get('smoothing')!);
    if (Number.isFinite(v)) s.smoothing = Math.min(0.999, Math.max(0, v));
  }
  const x = q.get('x');
  if (x === 'step' || x === 'relative' || x === 'wall') s.x = x;
  s.logY = q.get('logy') === '1';
  if (q.get('band') === '0') s.band = false;
  if (q.get('hist') === 'overlay') s.histMode = 'overlay';
  s.off = q.getAll('off');
  if (q.has('on')) s.on = q.getAll('on').filter((r) => r !== '');
  s.table = q.get('table') === '1';
  s.tableMetrics = q.getAll('tm').filter((m) => m !== '');
  s.tableSort = q.get('tsort') ?? '';
  s.tableDesc = q.get('tdesc') === '1';
  s.tableGroup = q.get('tgroup') ?? '';
  if (q.has('tf')) { s.tableFilterCol = q.get('tf')!; s.tableFilterValue = q.get('tv') ?? ''; }
  return s;
}

export function writeState(s: ViewState): string {
  const q = new URLSearchParams();
  if (s.tab) q.set('tab', s.tab);
  if (s.runFilter) q.set('runs', s.runFilter);
  if (s.runRegex) q.set('regex', '1');
  if (s.tagFilter) q.set('tags', s.tagFilter);
  if (s.smoothing !== defaults.smoothing) q.set('smoothing', String(s.smoothing));
  if (s.x !== 'step') q.set('x', s.x);
  if (s.logY) q.set('logy', '1');
  if (!s.band) q.set('band', '0');
  if (s.histMode !== 'offset') q.set('hist', s.histMode);
  if (s.on) {
    if (s.on.length === 0) q.append('on', '');
    for (const r of s.on) q.append('on', r);
  } else {
    for (const r of s.off) q.append('off', r);
  }
  if (s.table) q.set('table', '1');
  for (const m of s.tableMetrics) q.append('tm', m);
  if (s.tableSort) q.set('tsort', s.tableSort);
  if (s.tableSort && s.tableDesc) q.set('tdesc', '1');
  if (s.tableGroup) q.set('tgroup', s.tableGroup);
  if (s.tableFilterCol) { q.set('tf', s.tableFilterCol); q.set('tv', s.tableFilterValue); }
  const str = q.toString();
  return str ? '#' + str : '';
}
