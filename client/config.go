package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ConfigDirEnv names the environment variable that overrides the directory
// of the token file.
const ConfigDirEnv = "TBHOST_CONFIG_DIR"

// ConfigFile is the token file's name inside the config directory.
const ConfigFile = "boards.json"

// ConfigDir returns the directory of the token file: $TBHOST_CONFIG_DIR, or
// tbhost/ in the user's config directory. getenv may be nil (os.Getenv).
func ConfigDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv(ConfigDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the token file (%v): set %s", err, ConfigDirEnv)
	}
	return filepath.Join(d, "tbhost"), nil
}

// BoardEntry is what this machine remembers of a board it created: the
// write token above all.
type BoardEntry struct {
	ID          string    `json:"id"`
	Server      string    `json:"server"`
	URL         string    `json:"url"`
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	Token       string    `json:"token"`
	ViewKey     string    `json:"view_key,omitempty"`
	Private     bool      `json:"private,omitempty"`
	LogDir      string    `json:"logdir,omitempty"` // absolute path uploaded from, if any
	Created     time.Time `json:"created"`
}

// Config is the token file: the boards created from this machine. It is
// kept at mode 0600 in a directory of mode 0700, since the tokens let
// anyone write to or delete the boards.
type Config struct {
	Boards  []BoardEntry `json:"boards"`
	path    string
	removed map[string]bool       // entries removed since loading (by entryKey)
	orig    map[string]BoardEntry // entries as loaded
}

func entryKey(server, id string) string { return NormalizeServer(server) + "\x00" + id }

// LoadConfig reads dir/boards.json; a missing file is an empty config.
func LoadConfig(dir string) (*Config, error) {
	return readConfig(filepath.Join(dir, ConfigFile))
}

func readConfig(path string) (*Config, error) {
	c := &Config{path: path}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the token file: %w", err)
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("the token file %s is damaged (%v): fix or move it away", c.path, err)
	}
	c.orig = map[string]BoardEntry{}
	for _, e := range c.Boards {
		c.orig[entryKey(e.Server, e.ID)] = e
	}
	return c, nil
}

// Path returns the token file's path.
func (c *Config) Path() string { return c.path }

// Save writes the token file atomically (a temporary file renamed over
// it), creating its directory if needed. Changes another tbhost process
// saved since this config was loaded are kept: the file is re-read under a
// lock and this config's additions and removals are applied to it.
func (c *Config) Save() error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	unlock, err := lock(c.path + ".lock")
	if err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	defer unlock()
	if cur, err := readConfig(c.path); err == nil {
		c.Boards = merge(cur.Boards, c.Boards, c.orig, c.removed)
	}
	if c.Boards == nil {
		c.Boards = []BoardEntry{}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	f, err := os.CreateTemp(dir, ".boards-*.json")
	if err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, a no-op
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("saving the token file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("saving the token file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("saving the token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("saving the token file: %w", err)
	}
	c.orig = map[string]BoardEntry{}
	for _, e := range c.Boards {
		c.orig[entryKey(e.Server, e.ID)] = e
	}
	c.removed = nil
	return nil
}

// merge applies our changes (entries added or changed since they were
// loaded as orig, and removed keys) to the entries on disk.
func merge(disk, ours []BoardEntry, orig map[string]BoardEntry, removed map[string]bool) []BoardEntry {
	mine := map[string]int{}
	for i, e := range ours {
		k := entryKey(e.Server, e.ID)
		if o, ok := orig[k]; !ok || o != e {
			mine[k] = i
		}
	}
	out := make([]BoardEntry, 0, len(disk)+len(ours))
	used := map[string]bool{}
	for _, e := range disk {
		k := entryKey(e.Server, e.ID)
		if i, ok := mine[k]; ok {
			out = append(out, ours[i])
			used[k] = true
			continue
		}
		if removed[k] {
			continue
		}
		out = append(out, e)
	}
	for _, e := range ours {
		k := entryKey(e.Server, e.ID)
		if _, changed := mine[k]; changed && !used[k] {
			out = append(out, e)
			used[k] = true
		}
	}
	return out
}

// lock takes an exclusive lock file, waiting up to 5 s; a lock older than
// 30 s is left over by a crash and is taken over.
func lock(path string) (unlock func(), err error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > 30*time.Second {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is held by another tbhost; remove it if none is running", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Board returns the entry of board id, or nil. When server is not empty,
// only an entry of that server matches.
func (c *Config) Board(server, id string) *BoardEntry {
	server = NormalizeServer(server)
	for i := range c.Boards {
		b := &c.Boards[i]
		if b.ID == id && (server == "" || NormalizeServer(b.Server) == server) {
			return b
		}
	}
	return nil
}

// ForLogDir returns the latest board uploaded from the absolute directory
// dir to server, or nil.
func (c *Config) ForLogDir(server, dir string) *BoardEntry {
	server = NormalizeServer(server)
	for i := len(c.Boards) - 1; i >= 0; i-- {
		b := &c.Boards[i]
		if b.LogDir == dir && NormalizeServer(b.Server) == server {
			return b
		}
	}
	return nil
}

// Put adds e, or replaces the entry with the same server and id.
func (c *Config) Put(e BoardEntry) {
	e.Server = NormalizeServer(e.Server)
	delete(c.removed, entryKey(e.Server, e.ID))
	if b := c.Board(e.Server, e.ID); b != nil {
		*b = e
		return
	}
	c.Boards = append(c.Boards, e)
}

// Remove drops the entry of board id on server ("" for any server) and
// reports whether there was one.
func (c *Config) Remove(server, id string) bool {
	server = NormalizeServer(server)
	out := c.Boards[:0]
	found := false
	for _, b := range c.Boards {
		if b.ID == id && (server == "" || NormalizeServer(b.Server) == server) {
			found = true
			if c.removed == nil {
				c.removed = map[string]bool{}
			}
			c.removed[entryKey(b.Server, b.ID)] = true
			continue
		}
		out = append(out, b)
	}
	c.Boards = out
	return found
}
