// Package markdown renders Markdown as TensorBoard renders tag
// descriptions and text summaries (plugin_util.markdown_to_safe_html and
// text_plugin.text_array_to_html): Markdown with tables and fenced code
// (goldmark), then sanitised to TensorBoard's allow-list of tags and
// attributes (bluemonday). Raw HTML in the source is kept only where that
// allow-list admits it; any other tag is shown as text, as TensorBoard's
// sanitiser (bleach) escapes it. The output is safe to insert into a page:
// no script, no event handler, no URL but http, https, mailto and
// relative ones.
package markdown

import (
	"bytes"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	xhtml "golang.org/x/net/html"
)

// allowedTags and allowedAttrs are TensorBoard's (plugin_util._ALLOWED_TAGS
// and _ALLOWED_ATTRIBUTES).
var allowedTags = []string{
	"ul", "ol", "li", "p", "pre", "code", "blockquote",
	"h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "strong", "em",
	"a", "img", "table", "thead", "tbody", "td", "tr", "th",
}

var allowedAttrs = map[string][]string{
	"a":   {"href", "title"},
	"img": {"src", "title", "alt"},
}

var isAllowedTag = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range allowedTags {
		m[t] = true
	}
	return m
}()

// policy is the sanitiser: the allow-list above, URLs of the schemes
// bleach allows by default (http, https, mailto) or relative.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(allowedTags...)
	for el, attrs := range allowedAttrs {
		p.AllowAttrs(attrs...).OnElements(el)
	}
	// (bleach keeps an <a> or <img> whose attributes it removed.)
	p.AllowNoAttrs().OnElements("a", "img")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true)
	p.RequireParseableURLs(true)
	return p
})

// md is the Markdown converter: CommonMark with tables (TensorBoard's
// Python-Markdown runs its tables and fenced_code extensions), bent where
// Python-Markdown reads a document otherwise (see pyDialect), raw HTML
// passed to rawHTML.
var md = goldmark.New(
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(pyBlockParsers()...),
		parser.WithInlineParsers(parser.DefaultInlineParsers()...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
		parser.WithASTTransformers(util.Prioritized(extension.NewTableASTTransformer(), 0)),
		parser.WithParagraphTransformers(util.Prioritized(blockTable{extension.NewTableParagraphTransformer()}, 200)),
	)),
	goldmark.WithRendererOptions(
		ghtml.WithUnsafe(),
		renderer.WithNodeRenderers(
			util.Prioritized(rawHTML{}, 0),
			util.Prioritized(extension.NewTableHTMLRenderer(), 500),
		),
	),
)

// ToHTML renders one Markdown document as safe HTML.
func ToHTML(src string) string {
	return sanitize(render(src))
}

// Sanitize makes an HTML fragment safe without rendering Markdown (what
// TensorBoard serves for text summaries with ?markdown=false).
func Sanitize(src string) string {
	return sanitize(escapeDisallowed(stripNulls(src)))
}

// TextHTML renders a text summary as TensorBoard's text plugin does: a
// scalar (shape []) as one Markdown document; a vector as a one-column
// table and a matrix as a table, each cell a Markdown document; a tensor
// of higher rank as its first matrix (index 0 along the leading
// dimensions) under a warning.
func TextHTML(strs []string, shape []int64) string {
	if len(shape) == 0 {
		return ToHTML(first(strs))
	}
	return textTable(strs, shape, render)
}

// PlainHTML renders a text summary as TextHTML does, but its strings as
// HTML, not Markdown (TensorBoard's text route with ?markdown=false).
func PlainHTML(strs []string, shape []int64) string {
	if len(shape) == 0 {
		return Sanitize(first(strs))
	}
	return textTable(strs, shape, func(s string) string { return s })
}

func first(strs []string) string {
	if len(strs) == 0 {
		return ""
	}
	return strs[0]
}

// textTable lays the cells out as text_plugin.make_table does, and
// sanitises the whole.
func textTable(strs []string, shape []int64, cell func(string) string) string {
	var warning string
	if len(shape) > 2 {
		warning = ToHTML(fmt.Sprintf("**Warning:** This text summary contained data of dimensionality %d, but only "+
			"2d tables are supported. Showing a 2d slice of the data instead.", len(shape)))
		shape = shape[len(shape)-2:]
	}
	rows, cols := int(max(shape[0], 0)), 1
	if len(shape) == 2 {
		cols = int(max(shape[1], 0))
	}
	var b strings.Builder
	b.WriteString("<table>\n<tbody>\n")
	for r := range rows {
		b.WriteString("<tr>\n")
		for c := range cols {
			b.WriteString("<td>")
			if i := r*cols + c; i < len(strs) {
				b.WriteString(cell(strs[i]))
			}
			b.WriteString("</td>\n")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>")
	return warning + Sanitize(b.String())
}

// render converts Markdown to HTML that still needs sanitising.
func render(src string) string {
	var buf bytes.Buffer
	if err := md.Convert([]byte(stripNulls(src)), &buf); err != nil {
		// The converter writes to memory; it fails on no input. Show the
		// source as text rather than nothing.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	return buf.String()
}

func stripNulls(s string) string { return strings.ReplaceAll(s, "\x00", "") }

func sanitize(s string) string { return policy().Sanitize(s) }

// rawHTML renders the raw HTML of a document (HTML blocks and inline
// tags) through escapeDisallowed.
type rawHTML struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (rawHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(ast.KindRawHTML, renderRawHTML)
}

func renderHTMLBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.HTMLBlock)
	if !entering {
		if n.HasClosure() {
			_, _ = w.WriteString(escapeDisallowed(string(n.ClosureLine.Value(source))))
		}
		return ast.WalkContinue, nil
	}
	var sb strings.Builder
	for i := 0; i < n.Lines().Len(); i++ {
		line := n.Lines().At(i)
		sb.Write(line.Value(source))
	}
	_, _ = w.WriteString(escapeDisallowed(sb.String()))
	return ast.WalkContinue, nil
}

func renderRawHTML(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	var sb strings.Builder
	for i := 0; i < n.Segments.Len(); i++ {
		s := n.Segments.At(i)
		sb.Write(s.Value(source))
	}
	_, _ = w.WriteString(escapeDisallowed(sb.String()))
	return ast.WalkSkipChildren, nil
}

// escapeDisallowed keeps the tags of an HTML fragment that the allow-list
// admits and writes every other tag as text (so "<script>" shows as
// "<script>", as bleach does), dropping comments. Text is kept as it is:
// the sanitiser escapes it.
func escapeDisallowed(s string) string {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return b.String()
		case xhtml.CommentToken:
			continue
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			raw := string(z.Raw())
			name, _ := z.TagName()
			if isAllowedTag[string(name)] {
				b.WriteString(raw)
			} else {
				b.WriteString(html.EscapeString(raw))
			}
		case xhtml.TextToken:
			// Raw text is HTML: entities stay entities; a stray "<" or
			// ">" becomes text.
			b.WriteString(escapeAngles(string(z.Raw())))
		default: // doctype
			b.WriteString(html.EscapeString(string(z.Raw())))
		}
	}
}

// escapeAngles escapes the angle brackets of raw HTML text, leaving
// entities as they are.
func escapeAngles(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

// Where Python-Markdown (TensorBoard's renderer) reads a document
// otherwise than CommonMark, in ways text summaries meet (config and
// argument dumps):
//
//   - a list does not interrupt a paragraph: "model:\n- a\n- b" is one
//     paragraph (pyList);
//   - a table is a block of its own: its delimiter row is the block's
//     second line (blockTable);
//   - "#title", without a space, is a heading (looseHeading).

// pyBlockParsers are goldmark's block parsers with the list parser that
// does not interrupt paragraphs, and looseHeading.
func pyBlockParsers() []util.PrioritizedValue {
	var out []util.PrioritizedValue
	for _, p := range parser.DefaultBlockParsers() {
		if bp, ok := p.Value.(parser.BlockParser); ok && slices.Contains(bp.Trigger(), '-') && slices.Contains(bp.Trigger(), '1') {
			p.Value = pyList{bp} // the list parser (its triggers: bullets and digits)
		}
		out = append(out, p)
	}
	return append(out, util.Prioritized(looseHeading{}, 550))
}

// pyList is a list parser that does not start a list inside a paragraph
// (a new item of an open list is the list item parser's).
type pyList struct{ parser.BlockParser }

// Open implements parser.BlockParser.
func (p pyList) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	if last := pc.LastOpenedBlock().Node; ast.IsParagraph(last) && last.Parent() == parent {
		return nil, parser.NoChildren
	}
	return p.BlockParser.Open(parent, reader, pc)
}

// blockTable makes a table of a paragraph only when the paragraph's
// second line is the delimiter row.
type blockTable struct{ parser.ParagraphTransformer }

// Transform implements parser.ParagraphTransformer.
func (b blockTable) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	if lines.Len() < 2 {
		return
	}
	if second := lines.At(1); !isDelimiterRow(second.Value(reader.Source())) {
		return
	}
	b.ParagraphTransformer.Transform(node, reader, pc)
}

// isDelimiterRow reports whether a line is a table's delimiter row: cells
// of dashes, each with optional colons, between pipes.
func isDelimiterRow(line []byte) bool {
	s := strings.TrimSpace(string(line))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "|"), "|")
	if s == "" {
		return false
	}
	for _, cell := range strings.Split(s, "|") {
		c := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(cell), ":"), ":")
		if c == "" || strings.Trim(c, "-") != "" {
			return false
		}
	}
	return true
}

// looseHeading parses "#title", an ATX heading without the space after the
// hashes, which Python-Markdown reads as a heading; the lines CommonMark
// reads as headings are left to goldmark's parser.
type looseHeading struct{}

// Trigger implements parser.BlockParser.
func (looseHeading) Trigger() []byte { return []byte{'#'} }

// Open implements parser.BlockParser.
func (looseHeading) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, segment := reader.PeekLine()
	pos := pc.BlockOffset()
	if pos < 0 {
		return nil, parser.NoChildren
	}
	i := pos
	for i < len(line) && line[i] == '#' {
		i++
	}
	level := i - pos
	if level == 0 || level > 6 || i == len(line) || util.IsSpace(line[i]) {
		return nil, parser.NoChildren
	}
	hl := text.NewSegment(segment.Start+i-segment.Padding, segment.Start+len(line)-segment.Padding)
	hl = hl.TrimRightSpace(reader.Source())
	// A closing run of hashes is not part of the title.
	v := hl.Value(reader.Source())
	stop := len(v)
	for stop > 0 && v[stop-1] == '#' {
		stop--
	}
	stop -= util.TrimRightSpaceLength(v[:stop])
	if stop == 0 {
		return nil, parser.NoChildren
	}
	hl.Stop = hl.Start + stop
	node := ast.NewHeading(level)
	node.Lines().Append(hl)
	reader.AdvanceToEOL()
	return node, parser.NoChildren
}

// Continue implements parser.BlockParser.
func (looseHeading) Continue(ast.Node, text.Reader, parser.Context) parser.State { return parser.Close }

// Close implements parser.BlockParser.
func (looseHeading) Close(ast.Node, text.Reader, parser.Context) {}

// CanInterruptParagraph implements parser.BlockParser.
func (looseHeading) CanInterruptParagraph() bool { return true }

// CanAcceptIndentedLine implements parser.BlockParser.
func (looseHeading) CanAcceptIndentedLine() bool { return false }
