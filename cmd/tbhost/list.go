package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"tbhost/client"
)

const listUsage = `Usage: tbhost list [flags]

Lists the boards created from this machine (their write tokens are kept in
the token file), with their runs and size as the server reports them. When a
server cannot be reached, what this machine knows is shown.

Flags:
`

// listed is one board as list shows it.
type listed struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	URL         string     `json:"url"`
	Server      string     `json:"server"`
	Runs        *int       `json:"runs"` // nil: unknown
	Size        *int64     `json:"size"` // nil: unknown
	Private     bool       `json:"private,omitempty"`
	Live        bool       `json:"live,omitempty"`
	LogDir      string     `json:"logdir,omitempty"`
	Created     *time.Time `json:"created,omitempty"`
	// Status: "ok", "gone" (deleted on the server), "unreachable", or the
	// error met.
	Status string `json:"status"`
}

func (m *Main) list(ctx context.Context, args []string) error {
	fset := m.flagSet("list", listUsage)
	nf := m.netFlags(fset)
	jsonOut := fset.Bool("json", false, "print the boards as a JSON array")
	timeout := fset.Duration("timeout", 5*time.Second, "how long to wait for each server")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 0 {
		return m.usageError(fset, "list takes no arguments")
	}
	if !setFlags(fset)["retries"] {
		nf.retries = 1 // a board list must not hang on a server that is down
	}
	cfg, err := m.loadConfig()
	if err != nil {
		return err
	}
	var rows []listed
	down := map[string]error{}
	for _, e := range cfg.Boards {
		if nf.server != "" && client.NormalizeServer(e.Server) != client.NormalizeServer(nf.server) {
			continue
		}
		r := listed{ID: e.ID, Name: e.Name, Description: e.Description, URL: e.URL, Server: e.Server,
			Private: e.Private, LogDir: e.LogDir, Status: "ok"}
		if !e.Created.IsZero() {
			t := e.Created
			r.Created = &t
		}
		if err, ok := down[e.Server]; ok && err != nil {
			r.Status = "unreachable"
			rows = append(rows, r)
			continue
		}
		c := m.newClient(e.Server, nf, &e, client.WithReadToken(e.Token),
			client.WithHTTPClient(&http.Client{Timeout: *timeout}))
		b, err := c.Board(ctx, e.ID)
		switch {
		case err == nil:
			runs, size := int(b.Runs), b.Size
			r.Runs, r.Size = &runs, &size
			r.Name, r.Description, r.Private, r.Live = b.Name, b.Description, b.Private, b.Live
		case client.IsNotFound(err):
			r.Status = "gone"
		case client.IsUnreachable(err):
			down[e.Server] = err
			r.Status = "unreachable"
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Status = err.Error()
		}
		rows = append(rows, r)
	}
	if *jsonOut {
		if rows == nil {
			rows = []listed{}
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(m.Stderr, "no boards created from this machine yet (token file %s): upload one with tbhost upload LOGDIR\n", cfg.Path())
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tRUNS\tSIZE\tURL")
	for _, r := range rows {
		runs, size := "?", "?"
		if r.Runs != nil {
			runs = fmt.Sprint(*r.Runs)
			size = client.FormatBytes(*r.Size)
		}
		name := r.Name
		switch r.Status {
		case "ok":
			if r.Live {
				name += " (live)"
			}
		case "gone":
			runs, size = "-", "-"
			name += " (deleted on the server)"
		case "unreachable":
		default:
			name += " (" + r.Status + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, name, runs, size, r.URL)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for server := range down {
		fmt.Fprintf(m.Stderr, "cannot reach tbhost server at %s: runs and size of its boards are unknown (shown: what this machine knows)\n", server)
	}
	return nil
}
