package tfeventstest

import (
	"fmt"
	"strconv"

	"tbhost/tfevents"
)

// FromReport converts an inspect report to Files, for comparing with a
// corpus' (output of `tbhost inspect --json` decodes into []File directly).
func FromReport(r *tfevents.Report) []File {
	files := make([]File, 0, len(r.Files))
	for _, fr := range r.Files {
		f := File{Path: fr.Path, Run: fr.Run, Records: fr.Records, Truncated: fr.Truncated, Corrupt: fr.Corrupt, BadRecords: fr.BadRecords, Tags: []Tag{}}
		for _, t := range fr.Tags {
			f.Tags = append(f.Tags, Tag{Tag: t.Tag, Plugin: t.Plugin, Count: t.Count, MinStep: t.MinStep, MaxStep: t.MaxStep,
				Min: t.Min, Max: t.Max, Last: t.Last, NonFinite: t.NonFinite})
		}
		files = append(files, f)
	}
	return files
}

// Diff compares the files of an inspect report with the expected ones
// (order included) and returns the differences as sentences, none when
// they agree. Floats agree when AlmostEqual.
func Diff(got, want []File) []string {
	var d []string
	if len(got) != len(want) {
		d = append(d, fmt.Sprintf("%d files, want %d", len(got), len(want)))
	}
	byPath := map[string]File{}
	for i, g := range got {
		byPath[g.Path] = g
		if i < len(want) && g.Path != want[i].Path {
			d = append(d, fmt.Sprintf("file #%d is %q, want %q (files sort by path)", i, g.Path, want[i].Path))
		}
	}
	for _, w := range want {
		g, ok := byPath[w.Path]
		if !ok {
			d = append(d, fmt.Sprintf("%s: missing", w.Path))
			continue
		}
		delete(byPath, w.Path)
		d = append(d, DiffFile(g, w)...)
	}
	for p := range byPath {
		d = append(d, fmt.Sprintf("%s: not expected", p))
	}
	return d
}

// DiffFile compares one file's facts with the expected ones, field by
// field (tags in order), and returns the differences prefixed with the
// expected path.
func DiffFile(got, want File) []string {
	var d []string
	add := func(format string, args ...any) { d = append(d, want.Path+": "+fmt.Sprintf(format, args...)) }
	if got.Path != want.Path {
		add("path %q", got.Path)
	}
	if got.Run != want.Run {
		add("run %q, want %q", got.Run, want.Run)
	}
	if got.Records != want.Records {
		add("records %d, want %d", got.Records, want.Records)
	}
	if got.Truncated != want.Truncated {
		add("truncated %v, want %v", got.Truncated, want.Truncated)
	}
	if got.Corrupt != want.Corrupt {
		add("corrupt %v, want %v", got.Corrupt, want.Corrupt)
	}
	if got.BadRecords != want.BadRecords {
		add("bad_records %d, want %d", got.BadRecords, want.BadRecords)
	}
	if len(got.Tags) != len(want.Tags) {
		add("%d tags %v, want %d %v", len(got.Tags), tagNames(got.Tags), len(want.Tags), tagNames(want.Tags))
		return d
	}
	for i, w := range want.Tags {
		g := got.Tags[i]
		if g.Tag != w.Tag {
			add("tag #%d is %q, want %q (tags sort by name)", i, g.Tag, w.Tag)
			continue
		}
		if g.Plugin != w.Plugin {
			add("tag %q plugin %q, want %q", w.Tag, g.Plugin, w.Plugin)
		}
		if g.Count != w.Count {
			add("tag %q count %d, want %d", w.Tag, g.Count, w.Count)
		}
		if g.MinStep != w.MinStep || g.MaxStep != w.MaxStep {
			add("tag %q steps %d..%d, want %d..%d", w.Tag, g.MinStep, g.MaxStep, w.MinStep, w.MaxStep)
		}
		for _, f := range []struct {
			name      string
			got, want *float64
		}{{"min", g.Min, w.Min}, {"max", g.Max, w.Max}, {"last", g.Last, w.Last}} {
			if !sameOpt(f.got, f.want) {
				add("tag %q %s %s, want %s", w.Tag, f.name, fmtOpt(f.got), fmtOpt(f.want))
			}
		}
		if g.NonFinite != w.NonFinite {
			add("tag %q nonfinite %d, want %d", w.Tag, g.NonFinite, w.NonFinite)
		}
	}
	return d
}

func tagNames(tags []Tag) []string {
	var s []string
	for _, t := range tags {
		s = append(s, t.Tag)
	}
	return s
}

func sameOpt(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return AlmostEqual(*a, *b)
}

func fmtOpt(p *float64) string {
	if p == nil {
		return "absent"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}
