package main

import (
	"context"
	"fmt"

	"tbhost/client"
)

const updateUsage = `Usage: tbhost update ID [flags]

Changes the name, description or visibility of a board created from this
machine (or of any board whose write token you pass with --token).

Flags:
`

func (m *Main) update(ctx context.Context, args []string) error {
	fset := m.flagSet("update", updateUsage)
	nf := m.netFlags(fset)
	name := fset.String("name", "", "new name")
	desc := fset.String("description", "", "new description")
	private := fset.Bool("private", false, "make the board private (its URL then needs the view key)")
	public := fset.Bool("public", false, "make the board public")
	rotate := fset.Bool("rotate-key", false, "give a private board a new view key (the old links stop working)")
	token := fset.String("token", "", "the board's write token when this machine did not create it (or TBHOST_TOKEN)")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 1 {
		return m.usageError(fset, "update takes one board ID")
	}
	set := setFlags(fset)
	if !set["name"] && !set["description"] && !set["private"] && !set["public"] && !set["rotate-key"] {
		return m.usageError(fset, "nothing to change: pass --name, --description, --private, --public or --rotate-key")
	}
	if *private && *public {
		return m.usageError(fset, "--private and --public contradict each other")
	}
	id := pos[0]
	cfg, entry, server, tok, err := m.ownedBoard(nf.server, id, *token)
	if err != nil {
		return err
	}
	var p client.BoardPatch
	if set["name"] {
		p.Name = name
	}
	if set["description"] {
		p.Description = desc
	}
	if set["private"] || set["public"] {
		v := *private && !*public
		p.Private = &v
	}
	p.RotateViewKey = *rotate
	c := m.newClient(server, nf, entry)
	b, err := c.UpdateBoard(ctx, id, tok, p)
	if err != nil {
		return explainBoard(err, server, id, tok)
	}
	url := b.URL
	if entry == nil {
		cfg.Put(client.BoardEntry{ID: id, Server: server, Token: tok, Created: b.Created.Time})
		entry = cfg.Board(server, id)
	}
	entry.Name, entry.Description, entry.Private = b.Name, b.Description, b.Private
	switch {
	case b.ViewKey != "":
		entry.ViewKey = b.ViewKey
	case !b.Private:
		entry.ViewKey = ""
	}
	if b.Private {
		url = shareURL(url, entry.ViewKey)
	}
	entry.URL = url
	if err := cfg.Save(); err != nil {
		return err
	}
	vis := "public"
	if b.Private {
		vis = "private"
	}
	fmt.Fprintf(m.Stderr, "updated board %s: name %q, description %q, %s\n", id, b.Name, b.Description, vis)
	_, err = fmt.Fprintln(m.Stdout, url)
	return err
}
