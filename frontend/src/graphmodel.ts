// The Graphs tab's model: a graph's ops arranged in their name scopes (a
// tree of groups, as TensorBoard draws it), with the edges between ops
// bundled per level: an edge from op u to op v is drawn once, between the
// two children of their lowest common group that hold them. Pure data: no
// DOM, so node's test runner checks it.

/** One op as GET /api/boards/:id/graph sends it. */
export interface GraphOp {
  name: string;
  op: string;
  inputs?: string[];
  device?: string;
  attrs?: [string, string][];
}

/** The answer of GET /api/boards/:id/graph. */
export interface GraphResponse {
  nodes: GraphOp[];
  functions?: { name: string; nodes: GraphOp[] }[];
}

/** The group TensorBoard puts a graph's library functions under. */
export const LIBRARY = '__function_library__';

/** A group holds at most this many children; more are split into
 * numbered parts, so that no level is too large to lay out at once. */
export const MAX_CHILDREN = 80;

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export interface TreeNode {
  id: number;
  /** path is the op's name, or the group's scope ('' for the root). */
  path: string;
  label: string;
  parent: number; // -1 for the root
  depth: number;
  /** children of a group, in the order their first op appears. */
  children: number[];
  /** op is set for an op (a leaf), null for a group. */
  op: GraphOp | null;
  /** ops counts the ops under a group (1 for an op). */
  ops: number;
  /** part is set on a group made to split a large one. */
  part?: boolean;
}

/** A bundled edge between two children of one group. */
export interface LevelEdge {
  from: number;
  to: number;
  /** count of op edges bundled into this one. */
  count: number;
  /** control is true when every bundled edge is a control dependency. */
  control: boolean;
}

export class Hierarchy {
  readonly nodes: TreeNode[] = [];
  /** ops by name. */
  readonly opByName = new Map<string, number>();
  /** edges between the children of each group, by group id. */
  readonly levelEdges = new Map<number, LevelEdge[]>();
  /** the names of the ops that read each op (by tree id). */
  readonly outputs = new Map<number, string[]>();
  readonly opCount: number;

  constructor(g: GraphResponse) {
    const root = this.add('', '', -1, null);
    const groups = new Map<string, number>([['', root]]);
    const groupOf = (path: string): number => {
      let id = groups.get(path);
      if (id !== undefined) return id;
      const cut = path.lastIndexOf('/');
      const parent = cut < 0 ? root : groupOf(path.slice(0, cut));
      id = this.add(path, path.slice(cut + 1), parent, null);
      groups.set(path, id);
      return id;
    };
    const ops: { op: GraphOp; scope: string }[] = [];
    const place = (op: GraphOp, scope: string) => {
      if (this.opByName.has(op.name)) return; // a repeated name: the first wins
      const cut = op.name.lastIndexOf('/');
      const parent = cut < 0 ? root : groupOf(op.name.slice(0, cut));
      this.opByName.set(op.name, this.add(op.name, op.name.slice(cut + 1), parent, op));
      ops.push({ op, scope });
    };
    for (const op of g.nodes ?? []) place(op, '');
    for (const f of g.functions ?? []) {
      const scope = LIBRARY + '/' + f.name + '/';
      for (const op of f.nodes ?? []) place({ ...op, name: scope + op.name }, scope);
    }
    // an op whose name is also a scope goes inside that scope's group
    for (const [name, id] of this.opByName) {
      const gid = groups.get(name);
      if (gid === undefined) continue;
      const n = this.nodes[id], siblings = this.nodes[n.parent].children;
      siblings.splice(siblings.indexOf(id), 1);
      this.nodes[gid].children.unshift(id);
      n.label = '(' + n.label + ')';
      this.reparent(id, gid);
    }
    this.opCount = this.opByName.size;
    this.split(root);
    this.count(root);
    for (const { op, scope } of ops) {
      const v = this.opByName.get(op.name)!;
      for (const input of op.inputs ?? []) {
        const control = input.charCodeAt(0) === 94; // ^
        let base = control ? input.slice(1) : input;
        // "op:1" (an output slot) or, in a function, "op:output:0"
        const colon = scope ? base.indexOf(':') : base.lastIndexOf(':');
        if (colon > 0 && (scope || isDigits(base, colon + 1))) base = base.slice(0, colon);
        const u = (scope ? this.opByName.get(scope + base) : undefined) ?? this.opByName.get(base);
        if (u === undefined || u === v) continue;
        let outs = this.outputs.get(u);
        if (!outs) this.outputs.set(u, (outs = []));
        outs.push(op.name);
        this.bundle(u, v, control);
      }
    }
  }

  private add(path: string, label: string, parent: number, op: GraphOp | null): number {
    const id = this.nodes.length;
    const depth = parent < 0 ? 0 : this.nodes[parent].depth + 1;
    this.nodes.push({ id, path, label, parent, depth, children: [], op, ops: op ? 1 : 0 });
    if (parent >= 0) this.nodes[parent].children.push(id);
    return id;
  }

  /** split gives a group of more than MAX_CHILDREN children parts of at
   * most MAX_CHILDREN each (and so on, for very large groups). */
  private split(id: number) {
    const n = this.nodes[id];
    while (n.children.length > MAX_CHILDREN) {
      const kids = n.children;
      const size = Math.max(MAX_CHILDREN, Math.ceil(kids.length / MAX_CHILDREN));
      n.children = [];
      for (let i = 0; i < kids.length; i += size) {
        const chunk = kids.slice(i, i + size);
        const first = this.nodes[chunk[0]].label, last = this.nodes[chunk[chunk.length - 1]].label;
        const p = this.add(n.path + '/\u2026' + (i / size + 1), `${first} \u2026 ${last}`, id, null);
        this.nodes[p].part = true;
        this.nodes[p].children = chunk;
        for (const c of chunk) this.reparent(c, p);
      }
    }
    for (const c of n.children) if (!this.nodes[c].op) this.split(c);
  }

  private reparent(id: number, parent: number) {
    const n = this.nodes[id];
    n.parent = parent;
    n.depth = this.nodes[parent].depth + 1;
    for (const c of n.children) this.reparent(c, id);
  }

  private count(id: number): number {
    const n = this.nodes[id];
    if (n.op) return 1;
    let s = 0;
    for (const c of n.children) s += this.count(c);
    n.ops = s;
    return s;
  }

  /** bundle adds the edge u → v to the level of their lowest common group. */
  private bundle(u: number, v: number, control: boolean) {
    const N = this.nodes;
    let a = u, b = v;
    while (N[a].depth > N[b].depth) a = N[a].parent;
    while (N[b].depth > N[a].depth) b = N[b].parent;
    while (N[a].parent !== N[b].parent) { a = N[a].parent; b = N[b].parent; }
    if (a === b) return;
    const level = N[a].parent;
    let edges = this.levelEdges.get(level);
    if (!edges) this.levelEdges.set(level, (edges = []));
    const idx = this.edgeIndex(level, a, b, edges);
    const e = edges[idx];
    e.count++;
    e.control = e.control && control;
  }

  private edgeIdx = new Map<number, number>();
  private edgeIndex(level: number, a: number, b: number, edges: LevelEdge[]): number {
    const key = a * 4194304 + b; // ids < 2^22: the graph has at most 200,000 ops
    let i = this.edgeIdx.get(key);
    if (i === undefined) {
      i = edges.length;
      edges.push({ from: a, to: b, count: 0, control: true });
      this.edgeIdx.set(key, i);
    }
    return i;
  }

  /** ancestors of id, from its parent up to (and without) the root. */
  ancestors(id: number): number[] {
    const out: number[] = [];
    for (let p = this.nodes[id].parent; p > 0; p = this.nodes[p].parent) out.push(p);
    return out;
  }

  /** find returns the ids of ops and groups whose name contains q
   * (case-insensitive), ops first, at most limit. */
  find(q: string, limit = 50): number[] {
    const s = q.trim().toLowerCase();
    if (!s) return [];
    const ops: number[] = [], groups: number[] = [];
    for (const n of this.nodes) {
      if (n.id === 0 || n.part || !n.path.toLowerCase().includes(s)) continue;
      (n.op ? ops : groups).push(n.id);
      if (ops.length >= limit) break;
    }
    return ops.concat(groups).slice(0, limit);
  }
}
