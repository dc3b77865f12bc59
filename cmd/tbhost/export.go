package main

import (
	"context"
	"fmt"
	"path/filepath"

	"tbhost/client"
)

const exportUsage = `Usage: tbhost export URL|ID [--out DIR] [flags]

Downloads a board: its raw event files in their run folders (so that
tensorboard --logdir DIR reads them), every scalar series at full
resolution as DIR/csv/<run>/<tag>.csv, and the runs' notes and baseline
marks as DIR/tbhost-annotations.json (tbhost upload DIR brings them back).

Flags:
`

func (m *Main) export(ctx context.Context, args []string) error {
	fset := m.flagSet("export", exportUsage)
	nf := m.netFlags(fset)
	out := fset.String("out", "", "folder to write to (default: tbhost-<id>)")
	noRaw := fset.Bool("no-raw", false, "skip the raw event files")
	noCSV := fset.Bool("no-csv", false, "skip the scalar CSV files")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 1 {
		return m.usageError(fset, "export takes one board URL or ID")
	}
	urlServer, id, urlKey, err := client.ParseBoardRef(pos[0])
	if err != nil {
		return err
	}
	cfg, err := m.loadConfig()
	if err != nil {
		return err
	}
	entry := m.configBoard(cfg, firstNonEmpty(nf.server, urlServer), id)
	server := m.serverURL(firstNonEmpty(nf.server, urlServer), entry)
	if nf.key == "" {
		nf.key = urlKey
	}
	var opts []client.Option
	if entry != nil {
		opts = append(opts, client.WithReadToken(entry.Token))
	}
	c := m.newClient(server, nf, entry, opts...)
	dir := *out
	if dir == "" {
		dir = "tbhost-" + client.SafeFileName(id)
	}
	res, err := c.Export(ctx, id, dir, client.ExportOptions{NoRaw: *noRaw, NoCSV: *noCSV,
		Logf: func(format string, args ...any) { fmt.Fprintf(m.Stderr, format+"\n", args...) }})
	if err != nil {
		return explainBoard(err, server, id, "")
	}
	if !*noRaw && res.Files == 0 {
		fmt.Fprintf(m.Stderr, "board %s holds no event files yet\n", id)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	fmt.Fprintln(m.Stdout, abs)
	return nil
}
