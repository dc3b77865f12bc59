package client

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseBoardRef reads a board reference as a user gives it: a board id, or
// a URL of the board (its page …/experiment/<id>/ or an API route
// …/api/boards/<id>/…). For a URL it returns the server (with any path
// prefix) and the view key in its ?key=, if any.
func ParseBoardRef(ref string) (server, id, key string, err error) {
	ref = strings.TrimSpace(ref)
	if !strings.Contains(ref, "://") {
		if ref == "" || strings.ContainsAny(ref, "/?# ") {
			return "", "", "", fmt.Errorf("%q is neither a board id nor a board URL", ref)
		}
		return "", ref, "", nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", "", fmt.Errorf("%q is not a board URL: %v", ref, err)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		prefix := segs[:i]
		switch {
		case segs[i] == "experiment":
		case segs[i] == "boards" && i > 0 && segs[i-1] == "api":
			prefix = segs[:i-1]
		default:
			continue
		}
		id, err := url.PathUnescape(segs[i+1])
		if err != nil || id == "" {
			break
		}
		base := u.Scheme + "://" + u.Host
		if len(prefix) > 0 {
			base += "/" + strings.Join(prefix, "/")
		}
		return base, id, u.Query().Get("key"), nil
	}
	return "", "", "", fmt.Errorf("%q is not a board URL: want …/experiment/<id>/ (as printed by tbhost upload) or a board id", ref)
}

// ExportOptions selects what Export writes.
type ExportOptions struct {
	NoRaw bool // skip the raw event files
	NoCSV bool // skip the scalar CSVs
	// Logf, if set, receives a line per step.
	Logf func(format string, args ...any)
}

// ExportResult counts what Export wrote.
type ExportResult struct {
	Runs, Files int   // raw event files and their runs
	Bytes       int64 // bytes of raw event files
	Series      int   // scalar CSV files
	Annotated   int   // runs with a note or a baseline mark in AnnotationsFile
}

// Export downloads a board into dir: the raw event files at
// dir/<run>/<file>, so that `tensorboard --logdir dir` reads them, and every
// scalar series at full resolution as dir/csv/<run>/<tag>.csv (names made
// safe for a file system), and the runs' notes and baseline marks, if any,
// as dir/tbhost-annotations.json (AnnotationsFile: an upload of dir to a
// new board brings them back).
func (c *Client) Export(ctx context.Context, id, dir string, o ExportOptions) (*ExportResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	res := &ExportResult{}
	if !o.NoRaw {
		body, err := c.ExportRaw(ctx, id)
		if err != nil {
			return nil, err
		}
		runs, files, n, err := extractTarGz(body, root)
		body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("downloading the raw event files: %w", err)
		}
		res.Runs, res.Files, res.Bytes = runs, files, n
		logf("raw event files: %d %s in %d %s (%s)", files, plural(files, "file", "files"), runs, plural(runs, "run", "runs"), FormatBytes(n))
	}
	if res.Annotated, err = c.exportAnnotations(ctx, root, id); err != nil {
		return nil, err
	}
	if res.Annotated > 0 {
		logf("run notes and baselines: %d %s in %s", res.Annotated, plural(res.Annotated, "run", "runs"), filepath.Join(dir, AnnotationsFile))
	}
	if !o.NoCSV {
		tags, err := c.Tags(ctx, id)
		if err != nil {
			return nil, err
		}
		runs := make([]string, 0, len(tags))
		for r := range tags {
			runs = append(runs, r)
		}
		sort.Strings(runs)
		for _, run := range runs {
			var names []string
			for tag, info := range tags[run] {
				if info.Plugin == "scalars" {
					names = append(names, tag)
				}
			}
			sort.Strings(names)
			folder := path.Join("csv", SafeRunPath(run))
			used := map[string]bool{}
			for _, tag := range names {
				name := uniqueName(used, SafeFileName(tag), ".csv")
				if err := c.exportSeries(ctx, root, id, run, tag, path.Join(folder, name)); err != nil {
					return nil, err
				}
				res.Series++
			}
		}
		logf("scalar series: %d CSV %s in %s", res.Series, plural(res.Series, "file", "files"), filepath.Join(dir, "csv"))
	}
	return res, nil
}

func (c *Client) exportSeries(ctx context.Context, root *os.Root, id, run, tag, name string) error {
	body, err := c.ExportScalars(ctx, id, run, tag, "csv")
	if err != nil {
		return fmt.Errorf("exporting scalars %s of run %s: %w", tag, run, err)
	}
	defer body.Close()
	if err := writeFile(root, name, body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("exporting scalars %s of run %s: %w", tag, run, err)
	}
	return nil
}

// writeFile writes r to the slash-separated name below root, creating its
// folders.
func writeFile(root *os.Root, name string, r io.Reader) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// extractTarGz unpacks a gzipped tar below root. Only regular files and
// folders are written; an entry whose name is absolute or climbs out with
// ".." stops the extraction.
func extractTarGz(r io.Reader, root *os.Root) (runs, files int, n int64, err error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, 0, err
		}
		name, err := safeEntryName(h.Name)
		if err != nil {
			return 0, 0, 0, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if name != "." {
				if err := root.MkdirAll(filepath.FromSlash(name), 0o755); err != nil {
					return 0, 0, 0, err
				}
			}
		case tar.TypeReg, tar.TypeRegA:
			if name == "." {
				return 0, 0, 0, fmt.Errorf("refusing tar entry %q: a file without a name", h.Name)
			}
			cr := &countingReader{r: tr}
			if err := writeFile(root, name, cr); err != nil {
				return 0, 0, 0, err
			}
			n += cr.n
			files++
			seen[path.Dir(name)] = true
		default:
			// Links and devices have no place in an export: skip them.
		}
	}
	return len(seen), files, n, nil
}

// safeEntryName returns the cleaned, slash-separated name of a tar entry,
// or an error for a name that is absolute or holds "..".
//
// A backslash is part of a folder's name (run names keep it, as
// TensorBoard reads them) where the file system allows it; on Windows,
// where it is a separator, such a name is refused with a sentence.
func safeEntryName(name string) (string, error) {
	if name == "" || path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("refusing tar entry %q: not a relative path", name)
	}
	if strings.Contains(name, `\`) && filepath.Separator == '\\' {
		return "", fmt.Errorf("refusing tar entry %q: a backslash in a run name cannot be a file name on this system", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", fmt.Errorf("refusing tar entry %q: it climbs out of the export folder", name)
		}
	}
	clean := path.Clean(name)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("refusing tar entry %q: not a local path", name)
	}
	return clean, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// maxNameBytes bounds the length of a file name SafeFileName returns.
const maxNameBytes = 120

// SafeFileName turns s (a tag, a run folder) into a file name that every
// common file system accepts: letters, digits and ". _ - = , + @" are kept,
// anything else (including "/") becomes "_"; an empty or all-dot name, or
// one that is too long, gets a short hash so names stay distinct.
func SafeFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteByte('_')
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-=,+@", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if strings.Trim(out, ".") == "" || len(out) > maxNameBytes {
		h := sha256.Sum256([]byte(s))
		tail := hex.EncodeToString(h[:4])
		cut := min(len(out), maxNameBytes-len(tail)-1)
		for cut > 0 && cut < len(out) && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.Trim(out[:cut], ".")
		if out == "" {
			out = "_"
		}
		out += "-" + tail
	}
	return out
}

// SafeRunPath maps a run name ("a/b", "." for the root) to a relative,
// slash-separated folder path with each element made safe.
func SafeRunPath(run string) string {
	if run == "." || run == "" {
		return "."
	}
	segs := strings.Split(run, "/")
	for i, s := range segs {
		segs[i] = SafeFileName(s)
	}
	return strings.Join(segs, "/")
}

// uniqueName returns base+ext, or base~N+ext when that is taken (compared
// without case, for case-insensitive file systems).
func uniqueName(used map[string]bool, base, ext string) string {
	name := base + ext
	for i := 2; used[strings.ToLower(name)]; i++ {
		name = fmt.Sprintf("%s~%d%s", base, i, ext)
	}
	used[strings.ToLower(name)] = true
	return name
}
