// Command tbhost hosts TensorBoard event files behind permanent, shareable
// URLs: it is the server (tbhost serve) and its command-line client (upload,
// list, update, delete, export, note, baseline, health), plus local tools
// (inspect, bench).
//
// This package only parses flags and wires packages; the end-to-end tests
// drive it through the Main type.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "tbhost:", err)
		}
		os.Exit(1)
	}
}

// Main is the program: its standard streams and environment are fields so
// that tests run the real commands in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv by default).
	Getenv func(string) string
	// Listening, if set, is called by serve with the address it listens on.
	Listening func(addr string)
}

// NewMain returns a Main wired to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

type command struct {
	run   func(m *Main, ctx context.Context, args []string) error
	usage string
}

var commands = map[string]command{
	"serve":    {(*Main).serve, "run the server"},
	"upload":   {(*Main).upload, "upload a log dir to a board (once, or live with --watch)"},
	"inspect":  {(*Main).inspect, "summarise the event files of a log dir or one file"},
	"list":     {(*Main).list, "list the boards created from this machine"},
	"update":   {(*Main).update, "change a board's name or description"},
	"delete":   {(*Main).delete, "delete a board"},
	"export":   {(*Main).export, "download a board's raw event files, scalar CSVs and run notes"},
	"note":     {(*Main).note, "set or clear the Markdown note of a run"},
	"baseline": {(*Main).baseline, "mark a run as a baseline (or --off)"},
	"bench":    {(*Main).bench, "measure ingest and query speed on a generated run"},
	"health":   {(*Main).health, "ask a server whether it serves (and reaches its store)"},
}

var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(m.Stderr, "tbhost: unknown command %q\n", args[0])
		m.usage()
		return errUsage
	}
	return c.run(m, ctx, args[1:])
}

func (m *Main) usage() {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("tbhost hosts TensorBoard event files behind permanent, shareable URLs.\n\nUsage: tbhost COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", n, commands[n].usage)
	}
	b.WriteString("\nRun 'tbhost COMMAND -h' for the flags of a command.\n")
	fmt.Fprint(m.Stderr, b.String())
}

// env returns the environment variable name, or def when it is unset.
func (m *Main) env(name, def string) string {
	if v := m.Getenv(name); v != "" {
		return v
	}
	return def
}
