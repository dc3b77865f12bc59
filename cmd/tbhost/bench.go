package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"tbhost/benchmark"
)

// bench runs the benchmark suite (package benchmark) and writes its report.
func (m *Main) bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	size := fs.String("size", "1GB", "raw bytes of the generated week-long run, e.g. 1GB, 300MB, 5MB")
	tags := fs.Int("tags", benchmark.DefaultTags, "scalar tags in the generated run (as many histogram tags, plus one image tag)")
	out := fs.String("out", "docs/benchmarks.md", "where to write the Markdown report (- for standard output)")
	store := fs.String("store", "dir", "store under the server: dir (a temporary directory) or mem")
	requests := fs.Int("requests", benchmark.DefaultRequests, "scalar queries per latency row")
	tmp := fs.String("tmp", "", "directory for the generated files and the store (default: the system's temporary directory)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	n, err := benchmark.ParseSize(*size)
	if err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := benchmark.Run(ctx, benchmark.Config{Size: n, Tags: *tags, Store: *store, Requests: *requests, TempDir: *tmp, Log: m.Stderr})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *out == "-" {
		_, err = fmt.Fprint(m.Stdout, rep.Markdown())
		return err
	}
	if err := rep.WriteFile(*out); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(m.Stderr, "tbhost: wrote %s\n", *out)
	return nil
}
