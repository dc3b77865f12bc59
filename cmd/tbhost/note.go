package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"tbhost/client"
)

const noteUsage = `Usage: tbhost note BOARD RUN "TEXT" [flags]
       tbhost note BOARD RUN --file FILE [flags]

Sets the note of a run: Markdown, shown in the board's runs list and in
chart tooltips, at most 64 KiB. An empty TEXT ("") clears it. BOARD is the
board's id or URL; the board must have been created from this machine, or
pass its write token with --token. --file - reads the note from standard
input.

Flags:
`

const baselineUsage = `Usage: tbhost baseline BOARD RUN [--off] [flags]

Marks a run as a baseline, the run the others are measured against: the
board page always draws it, in its own style, and lists it first. --off
takes the mark away. BOARD is the board's id or URL; the board must have
been created from this machine, or pass its write token with --token.

Flags:
`

func (m *Main) note(ctx context.Context, args []string) error {
	fset := m.flagSet("note", noteUsage)
	nf := m.netFlags(fset)
	file := fset.String("file", "", "read the note from this file (- for standard input)")
	token := fset.String("token", "", "the board's write token when this machine did not create it (or TBHOST_TOKEN)")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	switch {
	case *file == "" && len(pos) != 3:
		return m.usageError(fset, `note takes a board, a run and the note's text ("" clears it), or --file`)
	case *file != "" && len(pos) != 2:
		return m.usageError(fset, "note takes a board and a run, and with --file no text")
	}
	var text string
	if *file != "" {
		if text, err = m.readNote(*file); err != nil {
			return err
		}
	} else {
		text = pos[2]
	}
	return m.annotate(ctx, nf, pos[0], pos[1], *token, client.AnnotationPatch{Note: &text}, func(a *client.RunAnnotation) string {
		if a.Note == "" {
			return fmt.Sprintf("cleared the note of run %s", a.Run)
		}
		return fmt.Sprintf("set the note of run %s (%d bytes)", a.Run, len(a.Note))
	})
}

// readNote reads a note from a file, or from standard input for "-".
func (m *Main) readNote(name string) (string, error) {
	var r io.Reader = m.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("reading the note: %w", err)
		}
		defer f.Close()
		r = f
	}
	// A note longer than the server takes (64 KiB) gets the server's
	// sentence; a file far longer is not read whole to learn that.
	const most = 1 << 20
	data, err := io.ReadAll(io.LimitReader(r, most+1))
	if err != nil {
		return "", fmt.Errorf("reading the note from %s: %w", name, err)
	}
	if len(data) > most {
		return "", fmt.Errorf("the note in %s is over 1 MiB long; a note may have at most 64 KiB", name)
	}
	return string(data), nil
}

func (m *Main) baseline(ctx context.Context, args []string) error {
	fset := m.flagSet("baseline", baselineUsage)
	nf := m.netFlags(fset)
	off := fset.Bool("off", false, "take the baseline mark away")
	token := fset.String("token", "", "the board's write token when this machine did not create it (or TBHOST_TOKEN)")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 2 {
		return m.usageError(fset, "baseline takes a board and a run")
	}
	on := !*off
	return m.annotate(ctx, nf, pos[0], pos[1], *token, client.AnnotationPatch{Baseline: &on}, func(a *client.RunAnnotation) string {
		if a.Baseline {
			return fmt.Sprintf("run %s is a baseline", a.Run)
		}
		return fmt.Sprintf("run %s is not a baseline", a.Run)
	})
}

// annotate sends an annotation edit of one run of the board ref (an id
// or a URL) as its owner, tells what became of it and prints the board's
// URL.
func (m *Main) annotate(ctx context.Context, nf *netFlags, ref, run, flagToken string, p client.AnnotationPatch, done func(*client.RunAnnotation) string) error {
	urlServer, id, urlKey, err := client.ParseBoardRef(ref)
	if err != nil {
		return err
	}
	if nf.key == "" {
		nf.key = urlKey
	}
	_, entry, server, tok, err := m.ownedBoard(firstNonEmpty(nf.server, urlServer), id, flagToken)
	if err != nil {
		return err
	}
	c := m.newClient(server, nf, entry)
	a, err := c.Annotate(ctx, id, tok, run, p)
	if err != nil {
		return explainAnnotate(err, server, id, tok)
	}
	fmt.Fprintf(m.Stderr, "%s on board %s\n", done(a), id)
	u := c.BoardURL(id, "")
	if entry != nil && entry.URL != "" {
		u = entry.URL
	}
	_, err = fmt.Fprintln(m.Stdout, u)
	return err
}

// explainAnnotate explains an error of an annotation edit: the server's
// own sentence for a run the board lacks or a note too long, else as for
// any call about the board.
func explainAnnotate(err error, server, id, token string) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusNotFound && strings.Contains(ae.Message, "has no run"):
			return fmt.Errorf("%s: check the run's name (the board page lists its runs)", ae.Message)
		case ae.Status == http.StatusRequestEntityTooLarge:
			return fmt.Errorf("the note is too long: %s", ae.Message)
		case ae.Status == http.StatusBadRequest:
			return fmt.Errorf("the server refused the note: %s", ae.Message)
		}
	}
	return explainBoard(err, server, id, token)
}
