// Comparisons (src/compare.ts): the ids and keys a /compare/ link names,
// the links a viewer types to add a board, run labels, and how the
// answers of several boards merge.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addToComparison, boardLabels, boardRefs, compareHref, compareIds, compareKeys, mergeAnswers, splitRun } from '../src/compare';

describe('compare links', () => {
  test('ids of a /compare/ path', () => {
    const cases: [string, string[] | null][] = [
      ['/compare/a1,b2/', ['a1', 'b2']],
      ['/compare/a1,b2,c3', ['a1', 'b2', 'c3']],
      ['/compare/a1,,a1,b%2D2/', ['a1', 'b-2']],
      ['/compare//', []],
      ['/experiment/a1/', null],
      ['/', null],
    ];
    for (const [path, want] of cases) assert.deepEqual(compareIds(path), want, path);
  });
  test('a key per board as key.<id>', () => {
    const k = compareKeys('?key.a1=s3cret&key.b2=&key=ignored&key.c3=x%2By');
    assert.deepEqual([...k.entries()], [['a1', 's3cret'], ['c3', 'x+y']]);
  });
  test('a comparison link reads back as its ids and keys', () => {
    const keys = new Map([['b2', 'k/+=']]);
    const href = compareHref(['a1', 'b2'], keys, '#tab=scalars');
    assert.equal(href, '/compare/a1,b2/?key.b2=k%2F%2B%3D#tab=scalars');
    const u = new URL(href, 'http://h');
    assert.deepEqual(compareIds(u.pathname), ['a1', 'b2']);
    assert.deepEqual([...compareKeys(u.search)], [['b2', 'k/+=']]);
    assert.equal(compareHref(['a1', 'b2'], new Map()), '/compare/a1,b2/');
  });
});

describe('boards typed by the viewer', () => {
  test('links, paths and ids', () => {
    const cases: [string, { id: string; key: string }[]][] = [
      ['http://host:8080/experiment/abc123/', [{ id: 'abc123', key: '' }]],
      ['http://host/experiment/abc123/?key=K1#tab=images', [{ id: 'abc123', key: 'K1' }]],
      ['  /experiment/abc123  ', [{ id: 'abc123', key: '' }]],
      ['abc123', [{ id: 'abc123', key: '' }]],
      ['http://host/api/boards/abc123/runs?key=K', [{ id: 'abc123', key: 'K' }]],
      ['http://host/compare/a,b/?key.b=KB', [{ id: 'a', key: '' }, { id: 'b', key: 'KB' }]],
    ];
    for (const [input, want] of cases) assert.deepEqual(boardRefs(input, 'http://host'), want, input);
  });
  test('text that names no board is refused with a sentence', () => {
    for (const input of ['', 'http://host/', 'http://host/static/app.js', 'not a link at all', '/compare//']) {
      assert.throws(() => boardRefs(input, 'http://host'), /board|Paste/, input);
    }
  });
  test('adding boards keeps the current ones first, and their keys', () => {
    const got = addToComparison([{ id: 'a', key: 'KA' }], [{ id: 'b', key: 'KB' }, { id: 'a', key: '' }]);
    assert.deepEqual(got.ids, ['a', 'b']);
    assert.deepEqual([...got.keys], [['a', 'KA'], ['b', 'KB']]);
    assert.throws(() => addToComparison([{ id: 'a', key: '' }], [{ id: 'a', key: '' }]), /another/);
    const many = Array.from({ length: 9 }, (_, i) => ({ id: 'b' + i, key: '' }));
    assert.throws(() => addToComparison([], many), /at most 8/);
  });
});

describe('runs of several boards', () => {
  test('labels: the name without slashes, made unique with the id', () => {
    assert.deepEqual(boardLabels([{ id: 'a', name: 'sweep' }, { id: 'b', name: 'sweep' }, { id: 'c', name: 'x/y' }, { id: 'd', name: '' }]),
      ['sweep (a)', 'sweep (b)', 'x∕y', 'd']);
  });
  test('a run name splits at the first slash', () => {
    assert.deepEqual(splitRun('base/train/lr_1'), ['base', 'train/lr_1']);
    assert.deepEqual(splitRun('base/.'), ['base', '.']);
    assert.equal(splitRun('norun'), null);
  });
  test('answers merge with their runs renamed', () => {
    const tags = mergeAnswers([['A', { runs: { r1: { loss: 1 } } }], ['B', { runs: { r1: { loss: 2 } } }]]);
    assert.deepEqual(tags, { runs: { 'A/r1': { loss: 1 }, 'B/r1': { loss: 2 } } });
    const runs = mergeAnswers([['A', { runs: [{ name: 'r1', baseline: true }] }], ['B', { runs: [{ name: 'r2' }] }]]);
    assert.deepEqual(runs, { runs: [{ name: 'A/r1', baseline: true }, { name: 'B/r2' }] });
    const multi = mergeAnswers([['A', { tag: 'loss', runs: { r: 1 } }], ['B', null], ['C', { tag: 'loss', runs: { r: 2 } }]]);
    assert.deepEqual(multi, { tag: 'loss', runs: { 'A/r': 1, 'C/r': 2 } });
  });
});
