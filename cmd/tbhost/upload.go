package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tbhost/client"
)

const uploadUsage = `Usage: tbhost upload LOGDIR [flags]

Uploads every event file of LOGDIR (the folder you give tensorboard --logdir)
to a board and prints its URL. Running it again resumes: only the bytes the
server does not hold yet are sent, to the board this folder went to before.
With --watch it keeps sending new events until Ctrl-C.

Flags:
`

func (m *Main) upload(ctx context.Context, args []string) error {
	fset := m.flagSet("upload", uploadUsage)
	nf := m.netFlags(fset)
	name := fset.String("name", "", "board name (default: the log dir's folder name)")
	desc := fset.String("description", "", "board description")
	boardID := fset.String("board", "", "append to this existing board instead of creating one")
	token := fset.String("token", "", "write token of --board when this machine did not create it (or TBHOST_TOKEN)")
	newBoard := fset.Bool("new", false, "create a new board even if this log dir was uploaded before")
	watch := fset.Bool("watch", false, "keep sending new events (growing files, new files and runs) until Ctrl-C")
	interval := fset.Duration("interval", client.DefaultInterval, "how often --watch looks for new events")
	jsonOut := fset.Bool("json", false, `print {"id", "url"} as JSON on stdout`)
	private := fset.Bool("private", false, "make the board private: only its URL with the view key opens it")
	showToken := fset.Bool("show-token", false, "also print the board's write token on stdout")
	chunk := fset.Int64("chunk-size", client.DefaultChunkSize, "bytes sent per request at most")
	parallel := fset.Int("parallel", client.DefaultParallel, "runs sent at once (a run's files go one after another)")
	compress := fset.Bool("compress", true, "compress what is sent (zstd, or gzip) when the server says it takes it; --compress=false sends it as it is")
	uploadToken := fset.String("upload-token", "", "the server's upload token, when it needs one to create boards (or TBHOST_UPLOAD_TOKEN)")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 1 {
		return m.usageError(fset, "upload takes one LOGDIR (the folder you give tensorboard --logdir)")
	}
	if *interval <= 0 {
		return m.usageError(fset, "--interval must be positive")
	}
	if *chunk <= 0 {
		return m.usageError(fset, "--chunk-size must be positive")
	}
	if *parallel <= 0 {
		return m.usageError(fset, "--parallel must be positive")
	}
	set := setFlags(fset)

	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	files, err := client.WalkLogDir(dir)
	if err != nil {
		return explainLogDir(pos[0], err)
	}
	if len(files) == 0 && !*watch {
		return fmt.Errorf("no event files in %s: tbhost looks for files whose name contains \"tfevents\" in that folder and below; pass the folder you give tensorboard --logdir (or add --watch to wait for training to write them)", pos[0])
	}

	cfg, err := m.loadConfig()
	if err != nil {
		return err
	}
	var entry *client.BoardEntry
	switch {
	case *boardID != "":
		entry = m.configBoard(cfg, nf.server, *boardID)
	case !*newBoard:
		entry = cfg.ForLogDir(m.serverURL(nf.server, nil), dir)
	}
	server := m.serverURL(nf.server, entry)
	ut := *uploadToken
	if ut == "" {
		ut = m.Getenv("TBHOST_UPLOAD_TOKEN")
	}
	pp := client.NewProgressPrinter(m.Stderr, isTerminal(m.Stderr))
	opts := []client.Option{client.WithUploadToken(ut), client.WithRetryNotify(func(err error, attempt int, wait time.Duration) {
		pp.Printf("%s; retrying in %s", retryReason(err), client.FormatDuration(wait))
	}), client.WithCompression(*compress)}
	readToken := ""
	if entry != nil {
		readToken = entry.Token
	}
	if *boardID != "" {
		readToken = firstNonEmpty(*token, m.Getenv("TBHOST_TOKEN"), readToken)
	}
	opts = append(opts, client.WithReadToken(readToken))
	c := m.newClient(server, nf, entry, opts...)

	var id, tok, boardURL string
	var remember *client.BoardEntry // a board to add to the token file once the token proved right
	switch {
	case *boardID != "":
		id = *boardID
		tok = firstNonEmpty(*token, m.Getenv("TBHOST_TOKEN"))
		if tok == "" && entry != nil {
			tok = entry.Token
		}
		if tok == "" {
			return fmt.Errorf("no write token for board %s on this machine (%s): pass --token or set TBHOST_TOKEN (the token printed when the board was created, with --show-token)", id, cfg.Path())
		}
		b, err := c.Board(ctx, id)
		if err != nil {
			return explainBoard(err, server, id, "")
		}
		boardURL = b.URL
		if entry == nil {
			// Remember the token so that list, update and delete know the board.
			remember = &client.BoardEntry{ID: id, Server: server, URL: b.URL, Name: b.Name, Description: b.Description,
				Token: tok, Private: b.Private, Created: b.Created.Time}
		}
	case entry != nil:
		b, err := c.Board(ctx, entry.ID)
		if client.IsNotFound(err) {
			fmt.Fprintf(m.Stderr, "board %s, uploaded from this folder before, is gone from %s: creating a new board\n", entry.ID, server)
			cfg.Remove(entry.Server, entry.ID)
			entry = nil
			break
		}
		if err != nil {
			return explainBoard(err, server, entry.ID, entry.Token)
		}
		id, tok, boardURL = entry.ID, entry.Token, b.URL
		fmt.Fprintf(m.Stderr, "resuming board %s (this folder was uploaded to it before; --new starts a new board)\n", id)
	}
	if id == "" {
		n := *name
		if n == "" {
			n = filepath.Base(dir)
		}
		created, err := c.CreateBoard(ctx, client.NewBoard{Name: n, Description: *desc, Private: *private})
		if err != nil {
			return explainCreate(err, server)
		}
		id, tok, boardURL = created.ID, created.Token, shareURL(created.URL, created.ViewKey)
		cfg.Put(client.BoardEntry{ID: id, Server: server, URL: boardURL, Name: n, Description: *desc,
			Token: tok, ViewKey: created.ViewKey, Private: *private, LogDir: dir, Created: time.Now().UTC()})
		if err := cfg.Save(); err != nil {
			return fmt.Errorf("created board %s but could not keep its write token: %w (run again with --board %s --token %s)", id, err, id, tok)
		}
		fmt.Fprintf(m.Stderr, "created board %s (%s)\n", id, n)
	} else if set["name"] || set["description"] || set["private"] {
		// A re-run with new metadata updates the board.
		var p client.BoardPatch
		if set["name"] {
			p.Name = name
		}
		if set["description"] {
			p.Description = desc
		}
		if set["private"] {
			p.Private = private
		}
		b, err := c.UpdateBoard(ctx, id, tok, p)
		if err != nil {
			return explainBoard(err, server, id, tok)
		}
		if e := cfg.Board(server, id); e != nil {
			e.Name, e.Description, e.Private = b.Name, b.Description, b.Private
			if b.ViewKey != "" {
				e.ViewKey = b.ViewKey
			}
			boardURL = shareURL(b.URL, e.ViewKey)
			e.URL = boardURL
			if err := cfg.Save(); err != nil {
				return err
			}
		}
	}
	if e := cfg.Board(server, id); e != nil && e.ViewKey != "" {
		boardURL = shareURL(boardURL, e.ViewKey)
	}

	printURL := func() error {
		if *jsonOut {
			out := map[string]string{"id": id, "url": boardURL}
			if *showToken {
				out["token"] = tok
			}
			enc := json.NewEncoder(m.Stdout)
			return enc.Encode(out)
		}
		if *showToken {
			fmt.Fprintf(m.Stdout, "write token: %s\n", tok)
		}
		_, err := fmt.Fprintln(m.Stdout, boardURL)
		return err
	}

	keep := func() error {
		if remember == nil {
			return nil
		}
		cfg.Put(*remember)
		remember = nil
		return cfg.Save()
	}
	u := &client.Uploader{Client: c, Board: id, Token: tok, Dir: dir, ChunkSize: *chunk, Parallel: *parallel, Interval: *interval,
		Progress: pp.Update, Logf: func(format string, args ...any) { pp.Printf("warning: "+format, args...) }}
	if *watch {
		// A record being written goes out whole, unless it stays cut short.
		u.HoldTail = max(30*time.Second, 3**interval)
		if err := printURL(); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "watching %s every %s; press Ctrl-C to stop\n", pos[0], *interval)
		first := true
		err := u.Watch(ctx, func(s *client.Summary, err error) {
			if err != nil {
				pp.Printf("%s; trying again in %s", strings.TrimSuffix(explainBoard(err, server, id, tok).Error(), "."), *interval)
				return
			}
			if first {
				first = false
				fmt.Fprintf(m.Stderr, "%s\n", describe(s))
				if err := keep(); err != nil {
					pp.Printf("%v", err)
				}
			}
		})
		if err != nil {
			return explainBoard(err, server, id, tok)
		}
		fmt.Fprintln(m.Stderr, "stopped watching; run the same command again to resume")
		return nil
	}
	s, err := u.Sync(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("upload interrupted: run the same command again to send the rest to board %s", id)
		}
		return explainBoard(err, server, id, tok)
	}
	if err := keep(); err != nil {
		return err
	}
	if s.Sent == 0 {
		fmt.Fprintf(m.Stderr, "nothing to send: the board already holds all of it\n")
	}
	fmt.Fprintf(m.Stderr, "%s\n", describe(s))
	return printURL()
}

func describe(s *client.Summary) string {
	return fmt.Sprintf("%d %s, %d event %s, %s", s.Runs, plural(s.Runs, "run", "runs"), s.Files, plural(s.Files, "file", "files"), client.FormatBytes(s.Bytes))
}

// shareURL adds the view key of a private board to its URL.
func shareURL(u, key string) string {
	if key == "" || strings.Contains(u, "key=") {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "key=" + key
}

// ---- shared by the client commands (upload, list, update, delete, export)

// netFlags are the flags of the commands that talk to a server.
type netFlags struct {
	server  string
	key     string
	retries int
}

func (m *Main) netFlags(fset *flag.FlagSet) *netFlags {
	nf := &netFlags{}
	fset.StringVar(&nf.server, "server", "", "tbhost server URL (or TBHOST_SERVER; default "+client.DefaultServer+")")
	fset.StringVar(&nf.key, "key", "", "view key of a private board (or TBHOST_KEY)")
	fset.IntVar(&nf.retries, "retries", client.DefaultRetry.Attempts, "tries of a request that meets a network error or a 5xx answer")
	return nf
}

func (m *Main) flagSet(name, usage string) *flag.FlagSet {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(m.Stderr)
	fset.Usage = func() {
		fmt.Fprint(m.Stderr, usage)
		fset.PrintDefaults()
	}
	return fset
}

// errHelp ends a command that printed its help: not a failure.
var errHelp = errors.New("help")

// noHelp maps errHelp to nil.
func noHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// parse parses flags and positional arguments in any order ("--" ends the
// flags) and returns the positional ones.
func (m *Main) parse(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos, rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		args = fset.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, rest...), nil
}

func (m *Main) usageError(fset *flag.FlagSet, msg string) error {
	fmt.Fprintf(m.Stderr, "tbhost %s: %s\n\n", fset.Name(), msg)
	fset.Usage()
	return errUsage
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fset *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// serverURL resolves the server: --server, else the server a known board
// lives on, else TBHOST_SERVER, else the default.
func (m *Main) serverURL(flagValue string, entry *client.BoardEntry) string {
	if flagValue != "" {
		return client.NormalizeServer(flagValue)
	}
	if entry != nil && entry.Server != "" {
		return client.NormalizeServer(entry.Server)
	}
	return client.NormalizeServer(m.env("TBHOST_SERVER", client.DefaultServer))
}

// configBoard finds board id in the token file: on the --server given, or
// on any server when none was.
func (m *Main) configBoard(cfg *client.Config, flagServer, id string) *client.BoardEntry {
	if flagServer != "" {
		return cfg.Board(flagServer, id)
	}
	return cfg.Board("", id)
}

// newClient returns a client of server with the view key of --key,
// TBHOST_KEY or the known board entry.
func (m *Main) newClient(server string, nf *netFlags, entry *client.BoardEntry, opts ...client.Option) *client.Client {
	key := firstNonEmpty(nf.key, m.Getenv("TBHOST_KEY"))
	if key == "" && entry != nil {
		key = entry.ViewKey
	}
	p := client.DefaultRetry
	p.Attempts = max(nf.retries, 1)
	// A server that accepts a request and then never answers counts as a
	// network error (and is retried) after two minutes.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	all := []client.Option{client.WithRetry(p), client.WithViewKey(key), client.WithUserAgent("tbhost-cli"),
		client.WithHTTPClient(&http.Client{Transport: tr})}
	return client.New(server, append(all, opts...)...)
}

func (m *Main) loadConfig() (*client.Config, error) {
	dir, err := client.ConfigDir(m.Getenv)
	if err != nil {
		return nil, err
	}
	return client.LoadConfig(dir)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// isTerminal reports whether w is a terminal (then progress redraws one
// line instead of printing many).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func retryReason(err error) string {
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Sprintf("cannot reach %s (%s)", ue.Server, netDetail(ue.Err))
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("the server answered %d (%s)", ae.Status, firstNonEmpty(ae.Message, http.StatusText(ae.Status)))
	}
	return err.Error()
}

// netDetail is the useful part of a network error: "connect: connection
// refused" rather than the whole request.
func netDetail(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// explainNet turns the errors every command may meet into a sentence that
// says what to do; it returns nil when err is not one of them.
func explainNet(err error, server string) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach tbhost server at %s: is `tbhost serve` running? set --server or TBHOST_SERVER (%s)", server, netDetail(ue.Err))
	}
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status >= 500 {
		return fmt.Errorf("the tbhost server at %s failed (%d: %s): try again later, and tell its operator if it persists", server, ae.Status, firstNonEmpty(ae.Message, http.StatusText(ae.Status)))
	}
	return nil
}

// explainBoard explains an error of a call about board id; token is the
// write token used, if any.
func explainBoard(err error, server, id, token string) error {
	if e := explainNet(err, server); e != nil {
		return e
	}
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return err
	}
	msg := firstNonEmpty(ae.Message, http.StatusText(ae.Status))
	switch ae.Status {
	case http.StatusNotFound:
		return fmt.Errorf("board %s not found on %s: check the id (tbhost list shows the boards created from this machine) or --server", id, server)
	case http.StatusUnauthorized, http.StatusForbidden:
		if token != "" && (ae.Method != http.MethodGet || strings.Contains(msg, "write token")) {
			return fmt.Errorf("the server refused the write token for board %s (%s): pass the token printed when the board was created with --token or TBHOST_TOKEN, or upload to a new board with --new", id, msg)
		}
		return fmt.Errorf("board %s is private (%s): pass its view key with --key or TBHOST_KEY (the key=… part of its URL)", id, msg)
	case http.StatusRequestEntityTooLarge:
		return fmt.Errorf("the server refused the upload as too large: %s", msg)
	}
	return fmt.Errorf("the server refused the request (%d): %s", ae.Status, msg)
}

func explainCreate(err error, server string) error {
	if e := explainNet(err, server); e != nil {
		return e
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		msg := firstNonEmpty(ae.Message, http.StatusText(ae.Status))
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("the server at %s did not let this machine create a board (%s): pass its upload token with --upload-token or TBHOST_UPLOAD_TOKEN", server, msg)
		case http.StatusNotFound:
			return fmt.Errorf("%s does not look like a tbhost server (no /api/boards): check --server or TBHOST_SERVER", server)
		}
		return fmt.Errorf("the server refused to create the board (%d): %s", ae.Status, msg)
	}
	return err
}

func explainLogDir(arg string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("log dir %s does not exist: pass the folder you give tensorboard --logdir", arg)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read log dir %s: %v", arg, err)
	}
	return err
}

// ownedBoard finds what a command acting on board id as its owner needs:
// the token file, the board's entry in it (nil if unknown), the server URL
// and the write token (--token, TBHOST_TOKEN, or the token file).
func (m *Main) ownedBoard(flagServer, id, flagToken string) (*client.Config, *client.BoardEntry, string, string, error) {
	cfg, err := m.loadConfig()
	if err != nil {
		return nil, nil, "", "", err
	}
	entry := m.configBoard(cfg, flagServer, id)
	server := m.serverURL(flagServer, entry)
	tok := firstNonEmpty(flagToken, m.Getenv("TBHOST_TOKEN"))
	if tok == "" && entry != nil {
		tok = entry.Token
	}
	if tok == "" {
		return nil, nil, "", "", fmt.Errorf("no write token for board %s on this machine (%s): pass --token or set TBHOST_TOKEN", id, cfg.Path())
	}
	return cfg, entry, server, tok, nil
}
