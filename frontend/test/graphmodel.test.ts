// The Graphs tab's model: scopes as groups, edges bundled per level.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphOp, Hierarchy, LIBRARY, MAX_CHILDREN } from '../src/graphmodel';

const op = (name: string, ...inputs: string[]): GraphOp => ({ name, op: 'Op', inputs });
const byPath = (h: Hierarchy, path: string) => h.nodes.find((n) => n.path === path && !n.op)!;
const edges = (h: Hierarchy, level: string) =>
  (h.levelEdges.get(level ? byPath(h, level).id : 0) ?? []).map((e) => `${h.nodes[e.from].label}>${h.nodes[e.to].label}:${e.count}${e.control ? 'c' : ''}`).sort();

describe('Hierarchy', () => {
  test('scopes become groups that count their ops', () => {
    const h = new Hierarchy({ nodes: [op('a/b/c'), op('a/b/d'), op('a/e'), op('f')] });
    assert.deepEqual(h.nodes[0].children.map((id) => h.nodes[id].label), ['a', 'f']);
    assert.equal(byPath(h, 'a').ops, 3);
    assert.equal(byPath(h, 'a/b').ops, 2);
    assert.equal(h.opCount, 4);
  });

  test('edges are bundled between the children of the lowest common group', () => {
    const h = new Hierarchy({ nodes: [op('x'), op('a/b/c', 'x', 'a/e'), op('a/b/d', 'x:1', '^a/e'), op('a/e'), op('y', 'a/b/c', 'a/b/d')] });
    assert.deepEqual(edges(h, ''), ['a>y:2', 'x>a:2']);
    assert.deepEqual(edges(h, 'a'), ['e>b:2']);
    assert.deepEqual(h.outputs.get(h.opByName.get('a/e')!), ['a/b/c', 'a/b/d']);
  });

  test('control edges are marked when every bundled edge is one', () => {
    const h = new Hierarchy({ nodes: [op('p'), op('q', '^p'), op('r', '^p', 'p')] });
    assert.deepEqual(edges(h, ''), ['p>q:1c', 'p>r:2']);
  });

  test('an op named like a scope goes inside it', () => {
    const h = new Hierarchy({ nodes: [op('a'), op('a/b', 'a')] });
    const a = byPath(h, 'a');
    assert.deepEqual(a.children.map((id) => h.nodes[id].label), ['(a)', 'b']);
    assert.deepEqual(edges(h, 'a'), ['(a)>b:1']);
  });

  test('a large group is split into parts', () => {
    const nodes = Array.from({ length: MAX_CHILDREN * 3 + 1 }, (_, i) => op('s/n' + i, i ? 's/n' + (i - 1) : ''));
    const h = new Hierarchy({ nodes });
    const s = byPath(h, 's');
    assert.equal(s.children.length, 4);
    assert.ok(s.children.every((id) => h.nodes[id].part && h.nodes[id].children.length <= MAX_CHILDREN));
    assert.equal(s.ops, nodes.length);
    assert.deepEqual(edges(h, 's').length, 3);
  });

  test('library functions go under the function library, their inputs resolved', () => {
    const h = new Hierarchy({ nodes: [op('call')], functions: [{ name: 'f', nodes: [op('x'), op('y', 'x:output:0')] }] });
    assert.ok(h.opByName.has(LIBRARY + '/f/y'));
    assert.deepEqual(edges(h, LIBRARY + '/f'), ['x>y:1']);
  });

  test('find lists ops before groups', () => {
    const h = new Hierarchy({ nodes: [op('conv/kernel'), op('conv2'), op('x')] });
    assert.deepEqual(h.find('CONV').map((id) => h.nodes[id].path), ['conv/kernel', 'conv2', 'conv']);
    assert.deepEqual(h.find('  '), []);
  });
});
