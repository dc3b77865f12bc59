// The Markdown renderer is the only way user text becomes HTML: whatever
// the input, the output holds only the tags the renderer builds, links
// only to http(s), and no attribute but a link's href, rel and target.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHTML, renderMarkdown } from '../src/markdown';

const TAGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'em', 'strong', 'del', 'code', 'pre', 'a', 'ul', 'ol', 'li', 'blockquote', 'hr', 'br',
  'table', 'thead', 'tbody', 'tr', 'th', 'td']);

/** inert fails unless every tag of html is one the renderer builds, with
 * only safe attributes, and every '<' starts such a tag. */
function inert(html: string, src: string) {
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>/y;
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) {
    tag.lastIndex = i;
    const m = tag.exec(html);
    assert.ok(m, `raw '<' at ${i} in ${JSON.stringify(html)} (from ${JSON.stringify(src)})`);
    const name = m[2].toLowerCase();
    assert.ok(TAGS.has(name), `tag <${name}> in ${JSON.stringify(html)}`);
    for (const a of m[3].matchAll(/([a-z-]+)="([^"]*)"/g)) {
      const [, attr, value] = a;
      if (name === 'a' && attr === 'href') {
        assert.match(value, /^https?:\/\/[^\s]+$/i, `href ${value} in ${JSON.stringify(html)}`);
        assert.doesNotMatch(value, /&quot;|&#39;/, `quote inside href ${value}`);
      } else if (name === 'a' && attr === 'rel') {
        assert.equal(value, 'noopener noreferrer nofollow');
      } else if (name === 'a' && attr === 'target') {
        assert.equal(value, '_blank');
      } else {
        assert.fail(`attribute ${attr} on <${name}> in ${JSON.stringify(html)}`);
      }
    }
  }
  assert.doesNotMatch(html, /javascript:|vbscript:/i.test(src) ? /href="\s*(javascript|vbscript):/i : /$^/);
}

describe('renderMarkdown', () => {
  const attacks: [string, string][] = [
    ['script tag', '<script>alert(1)</script>'],
    ['script in a heading', '# Title <script>alert(1)</script>'],
    ['javascript link', '[click](javascript:alert(1))'],
    ['javascript link, mixed case and spaces', '[click]( JaVaScRiPt:alert(1) )'],
    ['javascript link with entity', '[click](jav&#x61;script:alert(1))'],
    ['bare javascript URL', 'see javascript:alert(1) now'],
    ['img onerror', '<img src=x onerror=alert(1)>'],
    ['image syntax with onerror', '![x](https://example.com/x.png" onerror="alert(1))'],
    ['link title breaking out', '[x](https://example.com "a" onmouseover="alert(1)")'],
    ['link URL with a quote', '[x](https://example.com/"onmouseover="alert(1))'],
    ['bare URL with a quote', 'https://example.com/"onmouseover="alert(1)'],
    ['bare URL with an angle bracket', 'https://example.com/<script>alert(1)</script>'],
    ['svg onload', '<svg onload=alert(1)><circle r=5 /></svg>'],
    ['svg in a code block', '```\n<svg><script>alert(1)</script></svg>\n```'],
    ['svg in a table', '| a | b |\n|---|---|\n| <svg onload=alert(1)> | [x](javascript:alert(1)) |'],
    ['data URL link', '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['data URL image', '![x](data:image/svg+xml,<svg onload=alert(1)>)'],
    ['iframe', '<iframe src="https://evil.example"></iframe>'],
    ['style tag', '<style>body{display:none}</style>'],
    ['event handler in emphasis', '**<b onclick=alert(1)>bold</b>**'],
    ['in a blockquote', '> <script>alert(1)</script>\n> [x](javascript:alert(1))'],
    ['nested blockquote entity', '> &lt;script&gt;alert(1)&lt;/script&gt;'],
    ['in a list', '- <img src=x onerror=alert(1)>\n- [x](vbscript:msgbox(1))'],
    ['NUL bytes and placeholders', '\u00000\u0000 `x` \u00001\u0000 <script>'],
    ['code span hiding a tag', '`<script>` <script>alert(1)</script>'],
    ['autolink brackets', '<https://example.com/><javascript:alert(1)>'],
    ['html comment', '<!-- <script>alert(1)</script> -->'],
  ];
  for (const [name, src] of attacks) {
    test(`leaves ${name} inert`, () => inert(renderMarkdown(src), src));
  }
  test('still renders the Markdown it supports', () => {
    const html = renderMarkdown('# T\n\n**b** _i_ `c` [l](https://example.com/a?b=1&c=2) ~~d~~\n\n- x\n- y\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    inert(html, '');
    for (const want of ['<h1>T</h1>', '<strong>b</strong>', '<em>i</em>', '<code>c</code>', '<del>d</del>', '<ul><li>x</li><li>y</li></ul>',
      '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">l</a>', '<td>1</td>']) {
      assert.ok(html.includes(want), `${want} not in ${html}`);
    }
  });
  test('keeps a query string in a bare URL', () => {
    assert.equal(renderMarkdown('see https://example.com/a?b=1&c=2.'),
      '<p>see <a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">https://example.com/a?b=1&amp;c=2</a>.</p>');
  });
  test('shows the text of an attack, escaped', () => {
    assert.equal(renderMarkdown('<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    assert.equal(escapeHTML(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });
});
