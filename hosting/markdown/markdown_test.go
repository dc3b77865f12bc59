package markdown_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"tbhost/hosting/markdown"
)

// node is an element of rendered HTML: its tag and attributes.
type node struct {
	tag   string
	attrs []xhtml.Attribute
}

// parse returns the elements and the text of an HTML fragment.
func parse(t *testing.T, s string) (nodes []node, text string) {
	t.Helper()
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return nodes, strings.Join(strings.Fields(sb.String()), " ")
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			tok := z.Token()
			nodes = append(nodes, node{tok.Data, tok.Attr})
		case xhtml.TextToken:
			sb.WriteString(z.Token().Data)
			sb.WriteByte(' ')
		case xhtml.CommentToken, xhtml.DoctypeToken:
			t.Errorf("%q holds a comment or doctype", s)
		}
	}
}

var allowed = map[string][]string{
	"ul": nil, "ol": nil, "li": nil, "p": nil, "pre": nil, "code": nil, "blockquote": nil,
	"h1": nil, "h2": nil, "h3": nil, "h4": nil, "h5": nil, "h6": nil, "hr": nil, "br": nil,
	"strong": nil, "em": nil, "table": nil, "thead": nil, "tbody": nil, "td": nil, "tr": nil, "th": nil,
	"a": {"href", "title"}, "img": {"src", "title", "alt"},
}

// checkInert fails unless every element and attribute of out is on
// TensorBoard's allow-list and every URL is http, https, mailto or
// relative.
func checkInert(t *testing.T, in, out string) {
	t.Helper()
	nodes, _ := parse(t, out)
	for _, n := range nodes {
		attrs, ok := allowed[n.tag]
		if !ok {
			t.Errorf("%q -> %q: element <%s> is not allowed", in, out, n.tag)
		}
		for _, a := range n.attrs {
			if !slices.Contains(attrs, a.Key) {
				t.Errorf("%q -> %q: attribute %s on <%s> is not allowed", in, out, a.Key, n.tag)
			}
			if a.Key == "href" || a.Key == "src" {
				u, err := url.Parse(a.Val)
				if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
					t.Errorf("%q -> %q: %s=%q is not an allowed URL", in, out, a.Key, a.Val)
				}
			}
		}
	}
}

func TestXSSIsInert(t *testing.T) {
	tests := []struct {
		name, in string
		text     string // the text the reader sees (whitespace collapsed); "" to skip
	}{
		{"script block", "<script>alert(1)</script>", "<script>alert(1)</script>"},
		{"script inline", "hi <script>alert(1)</script> there", "hi <script>alert(1)</script> there"},
		{"script upper case", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", ""},
		{"javascript link", "[click](javascript:alert(1))", "click"},
		{"javascript link, entity-encoded", "[click](jav&#x09;ascript:alert(1))", "click"},
		{"javascript raw a", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"javascript raw a, mixed case and spaces", `<a href=" JaVaScRiPt:alert(1)">click</a>`, "click"},
		{"vbscript", "[x](vbscript:msgbox(1))", "x"},
		{"event handler on allowed tag", `<a href="http://example.com" onclick="alert(1)" onmouseover="alert(2)">x</a>`, "x"},
		{"event handler on img", `<img src="x.png" onerror="alert(1)">`, ""},
		{"event handler, unquoted", `<p onmouseover=alert(1)>x</p>`, ""},
		{"style attribute", `<p style="background:url(javascript:alert(1))">x</p>`, ""},
		{"svg", `<svg onload="alert(1)"><script>alert(2)</script></svg>`, ""},
		{"svg in markdown", "text ![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", ""},
		{"data URL link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "x"},
		{"data URL image", `<img src="data:image/png;base64,iVBORw0KGgo=">`, ""},
		{"data URL raw a", `<a href="data:text/html,<script>alert(1)</script>">x</a>`, ""},
		{"iframe", `<iframe src="http://evil.example"></iframe>`, ""},
		{"object and embed", `<object data="x.swf"></object><embed src="x.swf">`, ""},
		{"form", `<form action="http://evil.example"><input name=a><button>go</button></form>`, ""},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, ""},
		{"style element", `<style>body{background:url(javascript:alert(1))}</style>`, ""},
		{"base", `<base href="http://evil.example/">`, ""},
		{"comment hiding script", "<!--<script>alert(1)</script>-->", ""},
		{"broken tag", `<img src=x onerror=alert(1)//`, ""},
		{"autolink javascript", "<javascript:alert(1)>", ""},
		{"reference link javascript", "[x][1]\n\n[1]: javascript:alert(1)", "x"},
		{"html block with markdown", "<div onclick=alert(1)>\n*hi*\n</div>", ""},
		{"table cell", "| a |\n|---|\n| <script>alert(1)</script> |", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, out := range []string{
				markdown.ToHTML(tc.in),
				markdown.Sanitize(tc.in),
				markdown.TextHTML([]string{tc.in, tc.in}, []int64{2}),
				markdown.PlainHTML([]string{tc.in}, []int64{1, 1}),
			} {
				checkInert(t, tc.in, out)
			}
			if tc.text != "" {
				if _, got := parse(t, markdown.ToHTML(tc.in)); got != tc.text {
					t.Errorf("ToHTML(%q) reads %q, want %q", tc.in, got, tc.text)
				}
			}
		})
	}
}

func TestToHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"paragraph", "hello", "<p>hello</p>\n"},
		{"emphasis", "**bold** and *it*", "<p><strong>bold</strong> and <em>it</em></p>\n"},
		{"heading", "# Title", "<h1>Title</h1>\n"},
		{"list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"link", "[tb](https://www.tensorflow.org/tensorboard)", `<p><a href="https://www.tensorflow.org/tensorboard">tb</a></p>` + "\n"},
		{"link title kept", `[x](http://a.example "t")`, `<p><a href="http://a.example" title="t">x</a></p>` + "\n"},
		{"relative link", "[x](runs/a)", `<p><a href="runs/a">x</a></p>` + "\n"},
		{"image", "![alt](http://a.example/i.png)", `<p><img src="http://a.example/i.png" alt="alt"></p>` + "\n"},
		{"fenced code, language class dropped", "```python\nx = 1 < 2\n```", "<pre><code>x = 1 &lt; 2\n</code></pre>\n"},
		{"indented code", "    code", "<pre><code>code\n</code></pre>\n"},
		{"table, alignment dropped", "| a | b |\n|:--|--:|\n| 1 | 2 |",
			"<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n"},
		{"allowed raw tag kept", "a <strong>b</strong>", "<p>a <strong>b</strong></p>\n"},
		{"other raw tag shown as text", "a <b>b</b>", "<p>a &lt;b&gt;b&lt;/b&gt;</p>\n"},
		{"angle brackets", "1 < 2 > 0 & so", "<p>1 &lt; 2 &gt; 0 &amp; so</p>\n"},
		{"null bytes dropped", "a\x00b", "<p>ab</p>\n"},
		{"hard break", "a  \nb", "<p>a<br>\nb</p>\n"},
		// Where Python-Markdown, TensorBoard's renderer, departs from
		// CommonMark in ways config dumps meet.
		{"a list does not interrupt a paragraph", "model:\n- a\n- b", "<p>model:\n- a\n- b</p>\n"},
		{"an ordered list neither", "a\n1. x\n2. y", "<p>a\n1. x\n2. y</p>\n"},
		{"a list after a blank line", "a\n\n- x\n- y", "<p>a</p>\n<ul>\n<li>x</li>\n<li>y</li>\n</ul>\n"},
		{"a table is a block of its own", "x\n| a |\n|---|\n| 1 |", "<p>x\n| a |\n|---|\n| 1 |</p>\n"},
		{"a heading without a space", "#title", "<h1>title</h1>\n"},
		{"a heading without a space, closing hashes", "##title ##", "<h2>title</h2>\n"},
		{"a heading interrupts a paragraph", "a\n#b", "<p>a</p>\n<h1>b</h1>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := markdown.ToHTML(tc.in); got != tc.want {
				t.Errorf("ToHTML(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTextHTML(t *testing.T) {
	tests := []struct {
		name  string
		strs  []string
		shape []int64
		want  string
	}{
		{"scalar", []string{"**hi**"}, nil, "<p><strong>hi</strong></p>\n"},
		{"scalar, empty shape", []string{"x"}, []int64{}, "<p>x</p>\n"},
		{"vector: one column", []string{"a", "*b*"}, []int64{2},
			"<table>\n<tbody>\n<tr>\n<td><p>a</p>\n</td>\n</tr>\n<tr>\n<td><p><em>b</em></p>\n</td>\n</tr>\n</tbody>\n</table>"},
		{"matrix", []string{"k", "v", "k2", "v2"}, []int64{2, 2},
			"<table>\n<tbody>\n<tr>\n<td><p>k</p>\n</td>\n<td><p>v</p>\n</td>\n</tr>\n<tr>\n<td><p>k2</p>\n</td>\n<td><p>v2</p>\n</td>\n</tr>\n</tbody>\n</table>"},
		{"rank 3: the first matrix, under a warning", []string{"a", "b", "c", "d"}, []int64{2, 1, 2},
			"<p><strong>Warning:</strong> This text summary contained data of dimensionality 3, but only 2d tables are supported. Showing a 2d slice of the data instead.</p>\n" +
				"<table>\n<tbody>\n<tr>\n<td><p>a</p>\n</td>\n<td><p>b</p>\n</td>\n</tr>\n</tbody>\n</table>"},
		{"empty vector", nil, []int64{0}, "<table>\n<tbody>\n</tbody>\n</table>"},
		{"fewer strings than the shape says", []string{"a"}, []int64{1, 2},
			"<table>\n<tbody>\n<tr>\n<td><p>a</p>\n</td>\n<td></td>\n</tr>\n</tbody>\n</table>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := markdown.TextHTML(tc.strs, tc.shape); got != tc.want {
				t.Errorf("TextHTML(%q, %v) =\n%q\nwant\n%q", tc.strs, tc.shape, got, tc.want)
			}
		})
	}
	t.Run("plain: strings as HTML, not Markdown", func(t *testing.T) {
		want := "<table>\n<tbody>\n<tr>\n<td>*a* <strong>b</strong> &lt;i&gt;</td>\n</tr>\n</tbody>\n</table>"
		if got := markdown.PlainHTML([]string{"*a* <strong>b</strong> <i>"}, []int64{1}); got != want {
			t.Errorf("PlainHTML = %q, want %q", got, want)
		}
	})
}

func BenchmarkToHTML(b *testing.B) {
	src := strings.Repeat("Some *markdown* with a [link](http://example.com) and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n", 20)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		markdown.ToHTML(src)
	}
}
