// The Graphs tab's layout: each expanded group is laid out on its own by
// dagre (its children as boxes, the bundled edges between them), and
// sized to fit inside its parent's layout, as TensorBoard lays out its
// graphs level by level. Only what is visible is laid out; a level's
// layout is kept until a group inside it opens or closes, so expanding a
// scope lays out that scope and the levels above it, nothing else.
import dagre from '@dagrejs/dagre';
import { Hierarchy, LevelEdge } from './graphmodel';

export interface Point { x: number; y: number }

/** A child placed in its group's layout: centre and size, in the
 * group's interior coordinates. */
export interface Placed { id: number; x: number; y: number; w: number; h: number }

export interface LevelLayout {
  w: number;
  h: number;
  children: Placed[];
  edges: (LevelEdge & { points: Point[] })[];
}

export const LEAF_H = 24;
export const GROUP_H = 32;
/** PAD surrounds an expanded group's interior; HEADER is its title band. */
export const PAD = 12;
export const HEADER = 22;
const CHAR_W = 6.6;
/** LARGE_LEVEL: levels of more children are laid out the faster way. */
const LARGE_LEVEL = 30;

/** textWidth estimates the width of a label at the page's 11px font. */
export function textWidth(s: string): number { return s.length * CHAR_W; }

export class Layouts {
  readonly expanded = new Set<number>();
  private cache = new Map<number, LevelLayout>();
  /** laidOut counts dagre runs, for tests and benchmarks. */
  laidOut = 0;

  constructor(private h: Hierarchy) {}

  /** size of a node as its parent lays it out. */
  size(id: number): { w: number; h: number } {
    const n = this.h.nodes[id];
    if (n.op) return { w: Math.min(200, Math.max(40, textWidth(n.label) + 22)), h: LEAF_H };
    if (!this.expanded.has(id)) return { w: Math.min(220, Math.max(60, textWidth(n.label) + 44)), h: GROUP_H };
    const l = this.layout(id);
    return { w: Math.max(l.w + 2 * PAD, textWidth(n.label) + 2 * PAD + 30), h: l.h + 2 * PAD + HEADER };
  }

  /** toggle opens or closes a group; the levels that change are laid out
   * again when next drawn. */
  toggle(id: number, open = !this.expanded.has(id)) {
    if (this.h.nodes[id].op || open === this.expanded.has(id)) return;
    if (open) this.expanded.add(id);
    else this.expanded.delete(id);
    this.invalidate(id);
  }

  /** invalidate forgets the layouts of id's parent and the levels above. */
  invalidate(id: number) {
    for (let p = this.h.nodes[id].parent; p >= 0; p = this.h.nodes[p].parent) this.cache.delete(p);
  }

  /** layout of an expanded group's children (the root is always open). */
  layout(id: number): LevelLayout {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const n = this.h.nodes[id];
    const g = new dagre.graphlib.Graph({ multigraph: false });
    // a large level is ranked by longest path and ordered by one sweep:
    // dagre's defaults (network simplex, a search for fewer crossings)
    // take several times as long there
    const large = n.children.length > LARGE_LEVEL;
    g.setGraph({ rankdir: 'BT', nodesep: 18, ranksep: 28, edgesep: 8, marginx: 0, marginy: 0, ranker: large ? 'longest-path' : 'network-simplex' });
    g.setDefaultEdgeLabel(() => ({}));
    const sizes = new Map<number, { w: number; h: number }>();
    for (const c of n.children) {
      const s = this.size(c);
      sizes.set(c, s);
      g.setNode(String(c), { width: s.w, height: s.h });
    }
    const edges = this.h.levelEdges.get(id) ?? [];
    for (const e of edges) g.setEdge(String(e.from), String(e.to), { weight: e.control ? 1 : 2, minlen: 1 });
    if (n.children.length) dagre.layout(g, { disableOptimalOrderHeuristic: large });
    this.laidOut++;
    const out: LevelLayout = { w: 0, h: 0, children: [], edges: [] };
    for (const c of n.children) {
      const p = g.node(String(c));
      const s = sizes.get(c)!;
      out.children.push({ id: c, x: p.x ?? 0, y: p.y ?? 0, w: s.w, h: s.h });
    }
    for (const e of edges) {
      const l = g.edge(String(e.from), String(e.to));
      out.edges.push({ ...e, points: (l?.points as Point[] | undefined) ?? [] });
    }
    const gl = g.graph();
    out.w = gl.width ?? 0;
    out.h = gl.height ?? 0;
    this.cache.set(id, out);
    return out;
  }
}
