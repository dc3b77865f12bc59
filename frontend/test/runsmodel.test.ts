// The runs table's logic (src/runsmodel.ts): building the table from
// /hparams and /tags stats, sorting (numbers, strings in natural order,
// NaN and infinities, empty cells last both ways, groups first, ties in
// table order), filtering and grouping by a value, and the CSV.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Cell, RunsTable, buildTable, cellKey, columnById, compareCells, csvField, distinctValues, filterRows, groupRows,
  hparamCell, naturalKey, sortKeys, sortRows, toCSV,
} from '../src/runsmodel';

const hparams = {
  'run_10': { hparams: { lr: 0.1, optimizer: 'adam', layers: 4 } },
  'run_2': { hparams: { lr: 0.01, optimizer: 'sgd', layers: 'deep' } },
  'run_1': { hparams: { lr: 0.1, optimizer: 'adam', dropout: true } },
};
const stats: Record<string, Record<string, { min?: number | string; max?: number | string; last?: number | string }>> = {
  'run_1': { loss: { min: 0.5, max: 3, last: 0.7 } },
  'run_2': { loss: { min: 'NaN', max: 'Infinity', last: 'NaN' } },
  'run_10': { loss: { min: 0.1, max: 2, last: 0.2 } },
};

function table(): RunsTable {
  return buildTable(['run_1', 'run_2', 'run_10', 'run_x'], hparams, (r, t) => stats[r]?.[t], ['loss']);
}

/** sorted returns the runs of the table sorted by a column. */
function sorted(t: RunsTable, col: string, dir: 1 | -1, groupBy?: string): string[] {
  const c = columnById(t, col)!;
  const g = groupBy ? groupRows(columnById(t, groupBy)!).rank : null;
  return [...sortRows(t.runs.map((_, i) => i), sortKeys(c), dir, g)].map((i) => t.runs[i]);
}

describe('buildTable', () => {
  test('a column per hparam (natural order) and last/min/max per metric', () => {
    const t = table();
    assert.deepEqual(t.columns.map((c) => c.id), ['run', 'hp:dropout', 'hp:layers', 'hp:lr', 'hp:optimizer', 'last:loss', 'min:loss', 'max:loss']);
    assert.deepEqual(columnById(t, 'hp:lr')!.cells, [0.1, 0.01, 0.1, null]);
    assert.deepEqual(columnById(t, 'hp:dropout')!.cells, ['true', null, null, null]);
    assert.equal(columnById(t, 'hp:lr')!.numeric, true);
    assert.equal(columnById(t, 'hp:layers')!.numeric, false);
    const last = columnById(t, 'last:loss')!;
    assert.equal(last.label, 'loss (last)');
    assert.deepEqual(last.cells.slice(0, 1), [0.7]);
    assert.ok(Number.isNaN(last.cells[1] as number));
    assert.equal(columnById(t, 'max:loss')!.cells[1], Infinity);
    assert.equal(last.cells[3], null, 'a run without the tag has an empty cell');
  });
  test('hparam values as /hparams writes them', () => {
    const cases: [unknown, Cell][] = [[1.5, 1.5], ['x', 'x'], [false, 'false'], [{ value: 3 }, 3], ['-Infinity', -Infinity], [null, null], [[1, 2], '[1,2]']];
    for (const [v, want] of cases) assert.deepEqual(hparamCell(v), want, JSON.stringify(v));
  });
});

describe('sorting', () => {
  test('numbers by value, ascending and descending, empty last both ways, ties in table order', () => {
    const t = table();
    assert.deepEqual(sorted(t, 'hp:lr', 1), ['run_2', 'run_1', 'run_10', 'run_x']);
    assert.deepEqual(sorted(t, 'hp:lr', -1), ['run_1', 'run_10', 'run_2', 'run_x']);
  });
  test('NaN after +Inf after finite numbers', () => {
    const t = buildTable(['a', 'b', 'c', 'd', 'e'], {}, (r) => ({ last: { a: 'NaN', b: 2, c: 'Infinity', d: '-Infinity', e: undefined }[r] }), ['m']);
    assert.deepEqual(sorted(t, 'last:m', 1), ['d', 'b', 'c', 'a', 'e']);
    assert.deepEqual(sorted(t, 'last:m', -1), ['a', 'c', 'b', 'd', 'e']);
  });
  test('strings in natural order, numbers before strings in a mixed column', () => {
    const t = table();
    assert.deepEqual(sorted(t, 'run', 1), ['run_1', 'run_2', 'run_10', 'run_x']);
    assert.deepEqual(sorted(t, 'hp:layers', 1), ['run_10', 'run_2', 'run_1', 'run_x']);
    assert.ok(compareCells(4, 'deep') < 0 && compareCells('a', null) < 0 && compareCells(null, 1) > 0);
  });
  test('natural keys: digit runs by value, case ignored', () => {
    const names = ['run_10', 'Run_9', 'run_007', 'run_9', 'run_1b', 'run_1', 'a', '', 'run_1000000000000000000000000000000000'];
    const got = [...names].sort((a, b) => compareCells(a, b));
    assert.deepEqual(got, ['', 'a', 'run_1', 'run_1b', 'run_007', 'Run_9', 'run_9', 'run_10', 'run_1000000000000000000000000000000000']);
    assert.equal(naturalKey('x007'), naturalKey('X7'));
  });
  test('10,000 names: keys sort as compareCells does', () => {
    const runs = Array.from({ length: 10_000 }, (_, i) => `sweep/${['a', 'B', 'c'][i % 3]}_lr${(i * 7919) % 1000}_${i % 17}`);
    const t = buildTable(runs, {}, () => undefined, []);
    const col = columnById(t, 'run')!;
    const got = sortRows(runs.map((_, i) => i), sortKeys(col), -1);
    for (let j = 1; j < got.length; j++) {
      const c = compareCells(runs[got[j - 1]], runs[got[j]]);
      assert.ok(c > 0 || (c === 0 && got[j - 1] < got[j]), `row ${j}: ${runs[got[j - 1]]} then ${runs[got[j]]}`);
    }
  });
  test('groups first, then the column', () => {
    const t = table();
    assert.deepEqual(sorted(t, 'last:loss', 1, 'hp:optimizer'), ['run_10', 'run_1', 'run_2', 'run_x']);
    assert.deepEqual(sorted(t, 'last:loss', -1, 'hp:optimizer'), ['run_1', 'run_10', 'run_2', 'run_x']);
  });
  test('10,000 rows: the order is the one compareCells gives', () => {
    const runs = Array.from({ length: 10_000 }, (_, i) => `run_${i}`);
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const vals = runs.map(() => (rnd() < 0.05 ? undefined : rnd() < 0.02 ? 'NaN' : Math.round(rnd() * 1000) / 10));
    const t = buildTable(runs, {}, (r) => ({ last: vals[Number(r.slice(4))] }), ['m']);
    const col = columnById(t, 'last:m')!;
    const got = sortRows(runs.map((_, i) => i), sortKeys(col), 1);
    for (let j = 1; j < got.length; j++) {
      const a = col.cells[got[j - 1]], b = col.cells[got[j]];
      const c = compareCells(a, b);
      assert.ok(c < 0 || (c === 0 && got[j - 1] < got[j]), `row ${j}: ${a} then ${b}`);
    }
  });
});

describe('filter and group', () => {
  test('rows whose cell is the value, and the run filter', () => {
    const t = table();
    assert.deepEqual(filterRows(t, [{ col: 'hp:optimizer', value: 'adam' }]).map((i) => t.runs[i]), ['run_1', 'run_10']);
    assert.deepEqual(filterRows(t, [{ col: 'hp:lr', value: cellKey(0.1) }], (r) => r !== 'run_1').map((i) => t.runs[i]), ['run_10']);
    assert.deepEqual(filterRows(t, [{ col: 'hp:lr', value: '' }]).map((i) => t.runs[i]), ['run_x'], 'the empty value');
    assert.deepEqual(filterRows(t, [{ col: 'hp:none', value: 'x' }]), [], 'an unknown column keeps nothing');
  });
  test('distinct values with counts, in sort order', () => {
    assert.deepEqual(distinctValues(columnById(table(), 'hp:lr')!), [
      { key: '0.01', text: '0.01', count: 1 }, { key: '0.1', text: '0.1', count: 2 }, { key: '', text: '(none)', count: 1 }]);
  });
  test('groups are ranked in value order, empty last', () => {
    const g = groupRows(columnById(table(), 'hp:optimizer')!);
    assert.deepEqual(g.names, ['adam', 'sgd', '(none)']);
    assert.deepEqual([...g.rank], [0, 1, 0, 2]);
  });
});

describe('CSV', () => {
  test('fields quoted where needed, formulas defused, numbers exact', () => {
    const cases: [Cell, string][] = [
      ['plain', 'plain'], ['a,b', '"a,b"'], ['say "hi"', '"say ""hi"""'], ['two\nlines', '"two\nlines"'], [' pad', '" pad"'],
      ['=SUM(A1)', "'=SUM(A1)"], ['-x', "'-x"], [-1.5, '-1.5'], [0.1 + 0.2, '0.30000000000000004'], [NaN, 'NaN'], [-Infinity, '-Infinity'], [null, ''],
    ];
    for (const [c, want] of cases) assert.equal(csvField(c), want, String(c));
  });
  test('the rows in the order given, the group after the run', () => {
    const t = table();
    const cols = [columnById(t, 'run')!, columnById(t, 'hp:optimizer')!, columnById(t, 'last:loss')!];
    const g = groupRows(columnById(t, 'hp:lr')!);
    const csv = toCSV(t, [2, 1], cols, [{ label: 'group', cells: [...g.rank].map((r) => g.names[r]) }]);
    assert.equal(csv, 'Run,group,optimizer,loss (last)\r\nrun_10,0.1,adam,0.2\r\nrun_2,0.01,sgd,NaN\r\n');
  });
});
