package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"tbhost/client"
)

const deleteUsage = `Usage: tbhost delete ID [flags]

Deletes a board and everything on it from the server, and forgets its write
token on this machine. It asks first, unless --yes.

Flags:
`

func (m *Main) delete(ctx context.Context, args []string) error {
	fset := m.flagSet("delete", deleteUsage)
	nf := m.netFlags(fset)
	yes := fset.Bool("yes", false, "do not ask for confirmation")
	token := fset.String("token", "", "the board's write token when this machine did not create it (or TBHOST_TOKEN)")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 1 {
		return m.usageError(fset, "delete takes one board ID")
	}
	id := pos[0]
	cfg, entry, server, tok, err := m.ownedBoard(nf.server, id, *token)
	if err != nil {
		return err
	}
	c := m.newClient(server, nf, entry, client.WithReadToken(tok))
	if !*yes {
		what := "board " + id
		if b, err := c.Board(ctx, id); err == nil {
			what = fmt.Sprintf("board %s (%q: %d %s, %s)", id, b.Name, b.Runs, plural(int(b.Runs), "run", "runs"), client.FormatBytes(b.Size))
		} else if entry != nil && entry.Name != "" {
			what = fmt.Sprintf("board %s (%q)", id, entry.Name)
		}
		fmt.Fprintf(m.Stderr, "Delete %s and all its data from %s? This cannot be undone. [y/N] ", what, server)
		ok, err := confirm(m.Stdin)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(m.Stderr, "not deleted")
			return nil
		}
	}
	err = c.DeleteBoard(ctx, id, tok)
	gone := client.IsNotFound(err)
	if err != nil && (!gone || entry == nil) {
		return explainBoard(err, server, id, tok)
	}
	if cfg.Remove(server, id) {
		if err := cfg.Save(); err != nil {
			return err
		}
	}
	if gone {
		fmt.Fprintf(m.Stderr, "board %s was already gone from %s; forgot it on this machine\n", id, server)
		return nil
	}
	fmt.Fprintf(m.Stderr, "deleted board %s\n", id)
	return nil
}

// confirm reads one answer line; only y or yes (any case) says yes.
func confirm(r io.Reader) (bool, error) {
	if r == nil {
		return false, errors.New("cannot ask for confirmation: pass --yes")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
