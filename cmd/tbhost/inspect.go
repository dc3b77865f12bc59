package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"tbhost/tfevents"
)

// inspect implements `tbhost inspect [--json] PATH`: what is in a log dir
// (or one event file), read locally.
func (m *Main) inspect(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON (one entry per event file)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: tbhost inspect [--json] PATH\n\nSummarise the event files of a log dir (or one event file): per run and tag\nthe plugin, value count, step range, scalar min/max/last, and problems\n(truncated tails, corrupt framing, skipped records).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Accept flags before and after the path.
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(paths) != 1 {
		fmt.Fprintln(m.Stderr, "tbhost inspect: want exactly one PATH (a log dir or an event file)")
		fs.Usage()
		return errUsage
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep, err := tfevents.Inspect(paths[0])
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", " ")
		return enc.Encode(rep)
	}
	return writeInspectText(m.Stdout, paths[0], rep)
}

// runTag aggregates one tag over the files of a run (in file name order).
type runTag struct {
	plugin           string
	count, nonfinite int
	minStep, maxStep int64
	min, max, last   *float64
}

func writeInspectText(w io.Writer, root string, rep *tfevents.Report) error {
	type runAgg struct {
		files    int
		size     int64
		records  int
		tags     map[string]*runTag
		warnings []string
	}
	runs := map[string]*runAgg{}
	var names []string
	var total int64
	for _, f := range rep.Files {
		r := runs[f.Run]
		if r == nil {
			r = &runAgg{tags: map[string]*runTag{}}
			runs[f.Run] = r
			names = append(names, f.Run)
		}
		r.files++
		r.size += f.Size
		r.records += f.Records
		total += f.Size
		base := path.Base(f.Path)
		if f.Error != "" {
			r.warnings = append(r.warnings, base+": "+f.Error)
		}
		for _, msg := range f.Warnings {
			r.warnings = append(r.warnings, base+": "+msg)
		}
		for _, t := range f.Tags {
			a := r.tags[t.Tag]
			if a == nil {
				a = &runTag{plugin: t.Plugin, minStep: t.MinStep, maxStep: t.MaxStep}
				r.tags[t.Tag] = a
			}
			if a.plugin == "" {
				a.plugin = t.Plugin
			}
			a.count += t.Count
			a.nonfinite += t.NonFinite
			a.minStep, a.maxStep = min(a.minStep, t.MinStep), max(a.maxStep, t.MaxStep)
			if t.Min != nil {
				if a.min == nil {
					lo, hi := *t.Min, *t.Max
					a.min, a.max = &lo, &hi
				} else {
					*a.min, *a.max = math.Min(*a.min, *t.Min), math.Max(*a.max, *t.Max)
				}
			}
			if t.Last != nil {
				last := *t.Last
				a.last = &last
			}
		}
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s: %d run(s), %d event file(s), %s\n", root, len(names), len(rep.Files), humanBytes(total))
	for _, name := range names {
		r := runs[name]
		fmt.Fprintf(w, "\nrun %q: %d file(s), %s, %d record(s)\n", name, r.files, humanBytes(r.size), r.records)
		if len(r.tags) == 0 {
			fmt.Fprintln(w, "  (no values)")
		} else {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  TAG\tPLUGIN\tCOUNT\tSTEPS\tMIN\tMAX\tLAST")
			tags := make([]string, 0, len(r.tags))
			for t := range r.tags {
				tags = append(tags, t)
			}
			sort.Strings(tags)
			for _, t := range tags {
				a := r.tags[t]
				plugin := a.plugin
				if plugin == "" {
					plugin = "-"
				}
				steps := strconv.FormatInt(a.minStep, 10)
				if a.maxStep != a.minStep {
					steps += ".." + strconv.FormatInt(a.maxStep, 10)
				}
				last := fmtOpt(a.last)
				if a.nonfinite > 0 {
					last += fmt.Sprintf(" (%d non-finite)", a.nonfinite)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", quoteTag(t), plugin, a.count, steps, fmtOpt(a.min), fmtOpt(a.max), last)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		for _, msg := range r.warnings {
			fmt.Fprintf(w, "  warning: %s\n", msg)
		}
	}
	return nil
}

func fmtOpt(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'g', 6, 64)
}

// quoteTag quotes tags that would be ambiguous in a table.
func quoteTag(t string) string {
	if t == "" || strings.ContainsAny(t, "\t\n\r") {
		return strconv.Quote(t)
	}
	return t
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
