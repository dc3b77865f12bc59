// A small Markdown renderer that is safe by construction: the input is
// HTML-escaped first, then a subset is turned into tags it builds itself
// (headings, emphasis, code spans and blocks, http(s) links, lists, block
// quotes, simple tables, paragraphs). No raw HTML ever passes through.

export function escapeHTML(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const HOLE = '\u0000';

function inline(escaped: string): string {
  const held: string[] = [];
  const hold = (html: string) => { held.push(html); return HOLE + (held.length - 1) + HOLE; };
  let s = escaped.replace(/\u0000/g, '');
  // code spans first: nothing inside them is formatted
  s = s.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, _t, code: string) => hold('<code>' + code.trim() + '</code>'));
  // links [text](http(s)://url "title"), only http and https
  // (a URL holds no quote or angle bracket: their escapes end it)
  s = s.replace(/\[([^\]\n]+)\]\(\s*(https?:\/\/(?:&amp;|[^\s)&])+)(?:\s+&quot;[^\n]*?&quot;)?\s*\)/gi,
    (_m, text: string, url: string) => hold('<a href="' + url + '" rel="noopener noreferrer nofollow" target="_blank">') + text + hold('</a>'));
  // bare URLs
  s = s.replace(/(^|[\s(])(https?:\/\/(?:&amp;|[^\s<&])*[^\s<&.,;:!?)])/g,
    (_m, pre: string, url: string) => pre + hold('<a href="' + url + '" rel="noopener noreferrer nofollow" target="_blank">' + url + '</a>'));
  s = s.replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '<strong>$2</strong>');
  s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\*)/g, '$1<em>$2</em>');
  s = s.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/g, '$1<em>$2</em>');
  s = s.replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>');
  s = s.replace(/ {2,}\n/g, '<br>\n');
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => held[+i]);
}

function isTableSep(line: string): boolean {
  return line.includes('|') && line.includes('-') && /^[\s|:-]+$/.test(line);
}

function cells(line: string): string[] {
  let t = line.trim();
  if (t.startsWith('|')) t = t.slice(1);
  if (t.endsWith('|')) t = t.slice(0, -1);
  return t.split('|').map((c) => c.trim());
}

/** renderMarkdown returns safe HTML for a Markdown source. */
export function renderMarkdown(src: string): string {
  const lines = escapeHTML(src.replace(/\r\n?/g, '\n')).split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i++; continue; }
    // fenced code
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      out.push('<pre><code>' + body.join('\n') + '</code></pre>');
      continue;
    }
    // indented code
    if (/^( {4}|\t)/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || (/^\s*$/.test(lines[i]) && i + 1 < lines.length && /^( {4}|\t)/.test(lines[i + 1])))) {
        body.push(lines[i].replace(/^( {4}|\t)/, ''));
        i++;
      }
      out.push('<pre><code>' + body.join('\n') + '</code></pre>');
      continue;
    }
    const h = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const n = h[1].length;
      out.push(`<h${n}>` + inline(h[2]) + `</h${n}>`);
      i++;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { out.push('<hr>'); i++; continue; }
    // table: a header row, a separator row, then rows
    if (line.includes('|') && i + 1 < lines.length && isTableSep(lines[i + 1])) {
      const head = cells(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && lines[i].includes('|') && !/^\s*$/.test(lines[i])) rows.push(cells(lines[i++]));
      out.push('<table><thead><tr>' + head.map((c) => '<th>' + inline(c) + '</th>').join('') + '</tr></thead><tbody>' +
        rows.map((r) => '<tr>' + head.map((_, j) => '<td>' + inline(r[j] ?? '') + '</td>').join('') + '</tr>').join('') +
        '</tbody></table>');
      continue;
    }
    if (/^\s{0,3}&gt;/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s{0,3}&gt;/.test(lines[i])) body.push(lines[i++].replace(/^\s{0,3}&gt;\s?/, ''));
      // the body is already escaped: unescape once so the recursive call does not escape twice
      out.push('<blockquote>' + renderMarkdown(unescapeHTML(body.join('\n'))) + '</blockquote>');
      continue;
    }
    const li = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
    if (li) {
      const ordered = /\d/.test(li[2]);
      const items: string[] = [];
      while (i < lines.length) {
        const m = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]);
        if (m && /\d/.test(m[2]) === ordered) { items.push(m[3]); i++; continue; }
        if (!m && items.length && /^\s{2,}\S/.test(lines[i])) { items[items.length - 1] += '\n' + lines[i].trim(); i++; continue; }
        break;
      }
      const tag = ordered ? 'ol' : 'ul';
      out.push(`<${tag}>` + items.map((t) => '<li>' + inline(t) + '</li>').join('') + `</${tag}>`);
      continue;
    }
    // paragraph
    const para: string[] = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^\s{0,3}(#{1,6}\s|```|~~~|&gt;)/.test(lines[i]) &&
      !(para.length && /^\s*([-*+]|\d{1,9}[.)])\s+/.test(lines[i]))) {
      para.push(lines[i++]);
    }
    if (!para.length) { para.push(lines[i++]); }
    out.push('<p>' + inline(para.join('\n')) + '</p>');
  }
  return out.join('\n');
}

function unescapeHTML(s: string): string {
  return s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
}
