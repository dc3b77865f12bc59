// Several boards in one view (/compare/<id1>,<id2>[,...]/): which boards
// and keys a comparison link names, how a board link typed by the viewer
// becomes one more board of a comparison, and CompareApi, which answers
// the views' API calls from every board at once. A run of a comparison
// is named "<board label>/<run>": the label is the board's name (with
// no '/', so that the first '/' ends it), made unique with the board's id.
import { Api, HttpError, Param } from './api';

/** The most boards one comparison shows (the server's limit too). */
export const MAX_COMPARE = 8;

/** compareIds reads the board ids of a /compare/<ids>/ path: null for
 * another path, the ids (decoded, in order, without repeats) otherwise. */
export function compareIds(pathname: string): string[] | null {
  const m = /^\/compare\/([^/]*)/.exec(pathname);
  if (!m) return null;
  const out: string[] = [];
  for (const part of m[1].split(',')) {
    let id: string;
    try { id = decodeURIComponent(part).trim(); } catch { id = part.trim(); }
    if (id && !out.includes(id)) out.push(id);
  }
  return out;
}

/** compareKeys reads the view keys of a comparison's query: key.<id>=K
 * per board. */
export function compareKeys(search: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(search)) {
    if (k.startsWith('key.') && k.length > 4 && v) out.set(k.slice(4), v);
  }
  return out;
}

/** compareHref is the link of a comparison of ids with their keys and a
 * view state (a hash, '' for none). */
export function compareHref(ids: readonly string[], keys: ReadonlyMap<string, string>, hash = ''): string {
  const q = new URLSearchParams();
  for (const id of ids) {
    const k = keys.get(id);
    if (k) q.set('key.' + id, k);
  }
  const s = q.toString();
  return '/compare/' + ids.map(encodeURIComponent).join(',') + '/' + (s ? '?' + s : '') + hash;
}

/** A board a link names: its id and view key ('' when the link has none). */
export interface BoardRef { id: string; key: string }

/**
 * boardRefs reads what a viewer typed to name boards to compare with: a
 * board link (http://host/experiment/<id>/?key=K), a path, a comparison
 * link (every board and key.<id> it names), or a bare id. It throws an
 * Error with a sentence when the text names no board.
 */
export function boardRefs(input: string, origin = 'http://localhost'): BoardRef[] {
  const text = input.trim();
  if (!text) throw new Error('Paste the link of a board (or its id).');
  if (/^[A-Za-z0-9_-]+$/.test(text)) return [{ id: text, key: '' }];
  let u: URL;
  try {
    u = new URL(text, origin);
  } catch {
    throw new Error(`"${text}" is not a board link.`);
  }
  const ids = compareIds(u.pathname);
  if (ids) {
    const keys = compareKeys(u.search);
    if (!ids.length) throw new Error(`"${text}" names no board.`);
    return ids.map((id) => ({ id, key: keys.get(id) ?? '' }));
  }
  const m = /^\/(?:experiment|api\/boards)\/([^/?#]+)/.exec(u.pathname);
  if (!m) throw new Error(`"${text}" is not a board link: a board's link looks like ${origin}/experiment/<id>/.`);
  let id = m[1];
  try { id = decodeURIComponent(id); } catch { /* keep it as written */ }
  return [{ id, key: u.searchParams.get('key') ?? '' }];
}

/**
 * addToComparison returns the comparison of the boards a page shows
 * (current, with their keys) and the boards refs name, current ones
 * first; a board named twice keeps the key it was given last, and there
 * are at most MAX_COMPARE boards (an Error says so beyond).
 */
export function addToComparison(current: readonly BoardRef[], refs: readonly BoardRef[]): { ids: string[]; keys: Map<string, string> } {
  const ids: string[] = [];
  const keys = new Map<string, string>();
  for (const r of [...current, ...refs]) {
    if (!ids.includes(r.id)) ids.push(r.id);
    if (r.key) keys.set(r.id, r.key);
  }
  if (ids.length < 2) throw new Error('That is this board: name another one to compare with.');
  if (ids.length > MAX_COMPARE) throw new Error(`A comparison shows at most ${MAX_COMPARE} boards.`);
  return { ids, keys };
}

/** boardLabels names each board's runs: its name without '/' (or its
 * id when it has none), with " (id)" added where two boards share one. */
export function boardLabels(boards: readonly { id: string; name: string }[]): string[] {
  const base = boards.map((b) => (b.name || b.id).replace(/\//g, '∕').trim() || b.id);
  return base.map((l, i) => (base.indexOf(l) !== base.lastIndexOf(l) ? `${l} (${boards[i].id})` : l));
}

/** splitRun parses "<label>/<run>" into the label and the board's own
 * run name (null when the name has no label). */
export function splitRun(name: string): [string, string] | null {
  const i = name.indexOf('/');
  return i > 0 ? [name.slice(0, i), name.slice(i + 1)] : null;
}

/** One board of a comparison that could be read. */
export interface Member { id: string; label: string; api: Api }

/**
 * CompareApi answers the views of a comparison as Api answers them for
 * one board: a call naming a run goes to the run's board with the run's
 * own name; a call naming no run (or several runs) asks every board (or
 * every board named) and merges the answers, their runs renamed
 * "<label>/<run>". Blob ids of images and audio carry their board
 * ("<index>:<sha>") so that blob() can find it.
 */
export class CompareApi extends Api {
  private byLabel = new Map<string, number>();

  constructor(readonly members: Member[]) {
    super('', null);
    members.forEach((m, i) => this.byLabel.set(m.label, i));
  }

  /** route finds a prefixed run's board and own name. */
  route(run: string): { i: number; run: string } | null {
    const s = splitRun(run);
    if (!s) return null;
    const i = this.byLabel.get(s[0]);
    return i === undefined ? null : { i, run: s[1] };
  }

  override url(path: string, params: Record<string, Param> = {}): string {
    const run = params.run;
    if (typeof run === 'string') {
      const r = this.route(run);
      if (r) return this.members[r.i].api.url(path, { ...params, run: r.run });
    }
    return (this.members[0]?.api ?? new Api('', null)).url(path, params);
  }

  override blob(id: string): string {
    const i = id.indexOf(':');
    const m = this.members[Number(id.slice(0, i))];
    return m ? m.api.blob(id.slice(i + 1)) : '';
  }

  override async get<T>(path: string, params: Record<string, Param> = {}, signal?: AbortSignal): Promise<T> {
    const run = params.run;
    if (typeof run === 'string') {
      const r = this.route(run);
      if (!r) throw new Error(`run ${run} is not in this comparison`);
      const res = await this.members[r.i].api.get<unknown>(path, { ...params, run: r.run }, signal);
      return tagBlobs(res, r.i) as T;
    }
    // every board, or the boards of the runs named
    let targets = this.members.map((_, i) => ({ i, runs: null as string[] | null }));
    if (Array.isArray(run)) {
      const per = new Map<number, string[]>();
      for (const name of run) {
        const r = this.route(name);
        if (!r) continue;
        let l = per.get(r.i);
        if (!l) per.set(r.i, (l = []));
        l.push(r.run);
      }
      targets = [...per.entries()].map(([i, runs]) => ({ i, runs }));
    }
    const answers = await Promise.all(targets.map(async ({ i, runs }) => {
      const p = runs ? { ...params, run: runs } : params;
      try {
        return [i, await this.members[i].api.get<unknown>(path, p, signal)] as const;
      } catch (e) {
        // a board without what is asked for (404) adds nothing
        if (e instanceof HttpError && e.status === 404 && targets.length > 1) return [i, null] as const;
        throw e;
      }
    }));
    return mergeAnswers(answers.map(([i, a]) => [this.members[i].label, a])) as T;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * mergeAnswers merges the answers of several boards to one call: a
 * `runs` object keyed by run (/tags, /hparams, /scalars_multi) or a
 * `runs` list of {name} (/runs) gets each board's runs renamed
 * "<label>/<run>"; other fields are the first board's.
 */
export function mergeAnswers(answers: readonly (readonly [string, unknown])[]): unknown {
  let out: Json | null = null;
  for (const [label, a] of answers) {
    if (!isObject(a)) continue;
    if (!out) out = { ...a, runs: Array.isArray(a.runs) ? [] : isObject(a.runs) ? {} : a.runs };
    const runs = a.runs;
    if (Array.isArray(runs)) {
      for (const r of runs) (out.runs as unknown[]).push(isObject(r) && typeof r.name === 'string' ? { ...r, name: label + '/' + r.name } : r);
    } else if (isObject(runs)) {
      for (const [name, v] of Object.entries(runs)) (out.runs as Json)[label + '/' + name] = v;
    }
  }
  return out ?? { runs: {} };
}

/** tagBlobs marks the blob ids of an /images or /audio answer with their
 * board's index. */
function tagBlobs(res: unknown, i: number): unknown {
  if (!isObject(res) || !Array.isArray(res.items)) return res;
  for (const it of res.items) {
    if (!isObject(it)) continue;
    if (Array.isArray(it.blobs)) it.blobs = it.blobs.map((b) => `${i}:${b}`);
    if (Array.isArray(it.clips)) for (const c of it.clips) if (isObject(c) && typeof c.blob === 'string') c.blob = `${i}:${c.blob}`;
  }
  return res;
}
