// The runs table's data, without the page: one row per run, a column per
// hparam and, for each metric (scalar tag) the viewer picks, its last,
// min and max value; sorting, filtering and grouping by a column, and the
// table as CSV. Sorting works on keys computed once per column (numbers,
// or the rank of each distinct string in natural order), so that 10,000
// rows sort as numbers do.
import { fmtValue, num } from './format';

/** A cell: a number (NaN and the infinities included), a string, or
 * nothing. */
export type Cell = number | string | null;

export type ColumnKind = 'run' | 'hparam' | 'metric';

export interface Column {
  /** id names the column in links: "run", "hp:<name>", "<stat>:<tag>". */
  id: string;
  label: string;
  kind: ColumnKind;
  /** Every cell is a number or nothing. */
  numeric: boolean;
  cells: Cell[];
}

export interface RunsTable {
  runs: string[];
  columns: Column[];
}

/** The statistics of a run's tag (/tags: min, max, last). */
export interface TagStats { min?: number | string; max?: number | string; last?: number | string }

export const STATS = ['last', 'min', 'max'] as const;
export type Stat = (typeof STATS)[number];

/** hparamCell turns an hparam value as /hparams gives it into a cell:
 * numbers (and "NaN", "Infinity", "-Infinity"), strings, booleans as
 * "true"/"false", anything else as its JSON. */
export function hparamCell(v: unknown): Cell {
  if (v == null) return null;
  if (typeof v === 'object' && 'value' in (v as Record<string, unknown>)) return hparamCell((v as Record<string, unknown>).value);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? num(v) : v;
  return JSON.stringify(v);
}

/** buildTable makes the table of runs: a run's hparams are those
 * /hparams gives for its name; a metric's cells come from stats. */
export function buildTable(
  runs: readonly string[],
  hparams: Readonly<Record<string, { hparams?: Record<string, unknown> }>>,
  stats: (run: string, tag: string) => TagStats | undefined,
  metrics: readonly string[],
): RunsTable {
  const cols: Column[] = [column('run', 'Run', 'run', runs.map((r) => r))];
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(hparams[r]?.hparams ?? {})) keys.add(k);
  for (const k of [...keys].sort(compareStrings)) {
    cols.push(column('hp:' + k, k, 'hparam', runs.map((r) => {
      const h = hparams[r]?.hparams;
      return h && k in h ? hparamCell(h[k]) : null;
    })));
  }
  for (const tag of metrics) {
    for (const stat of STATS) {
      cols.push(column(stat + ':' + tag, `${tag} (${stat})`, 'metric', runs.map((r) => {
        const v = stats(r, tag)?.[stat];
        return v === undefined || v === null ? null : num(v);
      })));
    }
  }
  return { runs: [...runs], columns: cols };
}

function column(id: string, label: string, kind: ColumnKind, cells: Cell[]): Column {
  return { id, label, kind, cells, numeric: cells.every((c) => c === null || typeof c === 'number') };
}

/** columnById finds a column (undefined when the table has none). */
export function columnById(t: RunsTable, id: string): Column | undefined {
  return t.columns.find((c) => c.id === id);
}

/** cellKey is what filters and groups compare: a number's shortest
 * exact form, a string as it is, '' for nothing. */
export function cellKey(c: Cell): string {
  return c === null ? '' : String(c);
}

/** cellText writes a cell for the page (numbers by fmtValue). */
export function cellText(c: Cell): string {
  return c === null ? '' : typeof c === 'number' ? fmtValue(c) : c;
}

/**
 * naturalKey is a string's key for natural order by plain comparison:
 * lower case, each run of digits written with its leading zeros dropped
 * and padded to 30 digits ("run_9" before "run_10"), so that 10,000
 * names sort without a collator.
 */
export function naturalKey(s: string): string {
  return s.toLowerCase().replace(/\d+/g, (d) => {
    const t = d.replace(/^0+(?=\d)/, '');
    return t.length >= 30 ? t : '0'.repeat(30 - t.length) + t;
  });
}

/** compareStrings orders strings in natural order (naturalKey), then
 * as written. */
function compareStrings(a: string, b: string, ka = naturalKey(a), kb = naturalKey(b)): number {
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** compareCells orders cells: numbers by value (NaN after +Inf), before
 * strings in natural order; nothing is last. */
export function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
    if (Number.isNaN(b)) return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return compareStrings(a, b);
}

/**
 * sortKeys gives each row of a column a number that sorts as the cells
 * do (compareCells): the rank of its distinct value; NaN for an empty
 * cell. Computed once per column, it lets sortRows compare numbers only.
 * Numbers are ranked with a typed-array sort and binary searches,
 * strings by their natural keys, computed once each.
 */
export function sortKeys(col: Column): Float64Array {
  const n = col.cells.length;
  const keys = new Float64Array(n);
  const nums: number[] = [];
  const strs = new Map<string, string>(); // string -> natural key
  for (const c of col.cells) {
    if (typeof c === 'number') nums.push(c);
    else if (c !== null && !strs.has(c)) strs.set(c, naturalKey(c));
  }
  const sorted = Float64Array.from(nums).sort(); // numerically, NaN last
  const distinct: number[] = [];
  for (const v of sorted) if (!Number.isNaN(v) && (!distinct.length || distinct[distinct.length - 1] !== v)) distinct.push(v);
  const nanRank = distinct.length;
  const strRank = new Map<string, number>();
  [...strs.keys()].sort((a, b) => compareStrings(a, b, strs.get(a), strs.get(b)))
    .forEach((s, i) => strRank.set(s, nanRank + 1 + i));
  for (let i = 0; i < n; i++) {
    const c = col.cells[i];
    if (c === null) keys[i] = NaN;
    else if (typeof c === 'string') keys[i] = strRank.get(c)!;
    else if (Number.isNaN(c)) keys[i] = nanRank;
    else {
      let lo = 0, hi = distinct.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (distinct[mid] < c) lo = mid + 1; else hi = mid; }
      keys[i] = lo;
    }
  }
  return keys;
}

/**
 * sortRows orders rows (indices into the table) by keys, ascending
 * (dir 1) or descending (-1), empty cells last either way; when groups
 * are given (a group rank per row) rows sort by group first. Ties keep
 * the table's order.
 */
export function sortRows(rows: ArrayLike<number>, keys: Float64Array, dir: 1 | -1, groups?: Int32Array | null): Uint32Array {
  const out = Uint32Array.from(rows);
  out.sort((a, b) => {
    if (groups) { const g = groups[a] - groups[b]; if (g) return g; }
    const x = keys[a], y = keys[b];
    if (x !== y) {
      if (x !== x) { if (y === y) return 1; } // NaN: empty
      else if (y !== y) return -1;
      else return x < y ? -dir : dir;
    }
    return a - b;
  });
  return out;
}

/** A filter of the table: rows whose cell in column col is value (its
 * cellKey). */
export interface RowFilter { col: string; value: string }

/** filterRows keeps the rows passing every filter and keep (the row's
 * run, e.g. the runs list's name filter). */
export function filterRows(t: RunsTable, filters: readonly RowFilter[], keep: (run: string) => boolean = () => true): number[] {
  const cols = filters.map((f) => [columnById(t, f.col), f.value] as const);
  const out: number[] = [];
  rows: for (let i = 0; i < t.runs.length; i++) {
    if (!keep(t.runs[i])) continue;
    for (const [c, v] of cols) if (!c || cellKey(c.cells[i]) !== v) continue rows;
    out.push(i);
  }
  return out;
}

/** distinctValues lists a column's values (cellKey) with how many rows
 * have each, in sort order; empty cells as ''. */
export function distinctValues(col: Column): { key: string; text: string; count: number }[] {
  const m = new Map<string, { cell: Cell; count: number }>();
  for (const c of col.cells) {
    const k = cellKey(c);
    const e = m.get(k);
    if (e) e.count++; else m.set(k, { cell: c, count: 1 });
  }
  return [...m.entries()].sort((a, b) => compareCells(a[1].cell, b[1].cell))
    .map(([key, e]) => ({ key, text: e.cell === null ? '(none)' : cellText(e.cell), count: e.count }));
}

/** Groups of rows by a column's value: the rank of each row's group
 * (Int32Array, in the column's sort order, empty last) and the groups'
 * names (cellText, "(none)" for empty cells). */
export interface Grouping { rank: Int32Array; names: string[] }

export function groupRows(col: Column): Grouping {
  const values = distinctValues(col);
  const idx = new Map(values.map((v, i) => [v.key, i]));
  const rank = new Int32Array(col.cells.length);
  for (let i = 0; i < col.cells.length; i++) rank[i] = idx.get(cellKey(col.cells[i]))!;
  return { rank, names: values.map((v) => v.text) };
}

/** csvField quotes a CSV field when it needs it (RFC 4180); a string
 * that a spreadsheet would read as a formula (=, +, -, @ first) gets a
 * leading apostrophe. */
export function csvField(c: Cell): string {
  if (c === null) return '';
  let s: string;
  if (typeof c === 'number') s = Number.isNaN(c) ? 'NaN' : c === Infinity ? 'Infinity' : c === -Infinity ? '-Infinity' : String(c);
  else s = /^[=+\-@\t\r]/.test(c) ? "'" + c : c;
  return /[",\n\r]/.test(s) || s !== s.trim() ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** toCSV writes rows of the table (in the order given) with the columns
 * given, numbers at full precision; extra columns (such as the group)
 * come after the run. Lines end with \r\n (RFC 4180). */
export function toCSV(t: RunsTable, rows: ArrayLike<number>, cols: readonly Column[], extra: readonly { label: string; cells: readonly Cell[] }[] = []): string {
  const run = cols.filter((c) => c.kind === 'run');
  const rest = cols.filter((c) => c.kind !== 'run');
  const all = [...run, ...extra, ...rest];
  const lines = [all.map((c) => csvField(c.label)).join(',')];
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    lines.push(all.map((c) => csvField(c.cells[i])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
