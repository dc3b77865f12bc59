package hosting

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tbhost/tfevents"
)

// rawPart is one stored append of a raw file.
type rawPart struct {
	key      string
	off, len int64
}

// rawParts lists the parts of (run, file) that make up its first size
// bytes, in offset order, each trimmed so that parts never overlap.
func (s *Server) rawParts(ctx context.Context, id, run, file string, size int64) ([]rawPart, error) {
	prefix := rawFilePrefix(id, run, file)
	objs, err := s.store.List(ctx, prefix, "")
	if err != nil {
		s.storeError("list")
		return nil, fmt.Errorf("list raw parts of %s/%s: %w", run, file, err)
	}
	var parts []rawPart
	for _, p := range partsOf(objs, prefix) {
		if p.off < size {
			parts = append(parts, p)
		}
	}
	var pos int64
	for i := range parts {
		p := &parts[i]
		if p.off != pos {
			return nil, fmt.Errorf("raw file %s/%s: bytes %d to %d are missing from the store", run, file, pos, p.off)
		}
		end := size
		if i+1 < len(parts) {
			end = parts[i+1].off
		}
		p.len = min(p.len, end-p.off)
		pos = p.off + p.len
	}
	if pos != size {
		return nil, fmt.Errorf("raw file %s/%s: the store holds %d of its %d bytes", run, file, pos, size)
	}
	return parts, nil
}

// partsOf picks from objs the raw parts under a file's prefix, in offset
// order, untrimmed.
func partsOf(objs []ObjectInfo, prefix string) []rawPart {
	var parts []rawPart
	for _, o := range objs {
		rest, ok := strings.CutPrefix(o.Key, prefix)
		if !ok {
			continue
		}
		off, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			continue
		}
		parts = append(parts, rawPart{key: o.Key, off: off, len: o.Size})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].off < parts[j].off })
	return parts
}

// copyRaw writes the first size bytes of (run, file) as uploaded to w.
func (s *Server) copyRaw(ctx context.Context, w io.Writer, id, run, file string, size int64) error {
	parts, err := s.rawParts(ctx, id, run, file, size)
	if err != nil {
		return err
	}
	for _, p := range parts {
		rc, err := s.store.Open(ctx, p.key, 0)
		if err != nil {
			s.storeError("get")
			return fmt.Errorf("open %s: %w", p.key, err)
		}
		_, err = io.CopyN(w, rc, p.len)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", p.key, err)
		}
	}
	return nil
}

// runFiles returns a run's file names in name order (the order they were written).
func runFiles(r *runState) []string {
	names := make([]string, 0, len(r.d.Files))
	for n := range r.d.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// exportScalars streams every value of a scalar series, from the raw
// files, as CSV (TensorBoard's header) or JSON rows [wall_time, step, value].
func (s *Server) exportScalars(c *gin.Context) error {
	b, r, tag, err := s.seriesRequest(c)
	if err != nil {
		return err
	}
	format := c.DefaultQuery("format", "csv")
	if format != "csv" && format != "json" {
		return Errorf(Invalid, "format=%q: give csv or json", format)
	}
	ctx := c.Request.Context()
	name := safeFileName(r.d.Run + "_" + tag)
	if format == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
	} else {
		c.Header("Content-Type", "application/json")
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	c.Status(http.StatusOK)
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	var row []byte
	first := true
	if format == "json" {
		w.WriteString("[")
	} else {
		w.WriteString("Wall time,Step,Value\n")
	}
	for _, file := range runFiles(r) {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(s.copyRaw(ctx, pw, b.ID, r.d.Run, file, r.d.Files[file].Size))
		}()
		sc := tfevents.NewScanner(pr, tfevents.Options{})
		defer sc.Close()
		for sc.Scan() {
			v := sc.Value()
			if v.Kind != tfevents.KindScalar || v.Tag != tag {
				continue
			}
			row = row[:0]
			if format == "json" {
				if !first {
					row = append(row, ',')
				}
				row = append(row, '[')
				row = appendFloat(row, v.WallTime)
				row = append(row, ',')
				row = strconv.AppendInt(row, v.Step, 10)
				row = append(row, ',')
				row = appendFloat(row, v.Scalar)
				row = append(row, ']')
			} else {
				row = strconv.AppendFloat(row, v.WallTime, 'f', -1, 64)
				row = append(row, ',')
				row = strconv.AppendInt(row, v.Step, 10)
				row = append(row, ',')
				row = strconv.AppendFloat(row, v.Scalar, 'g', -1, 64)
				row = append(row, '\n')
			}
			first = false
			if _, err := w.Write(row); err != nil {
				pr.CloseWithError(err)
				return nil // the client went away
			}
		}
		pr.Close()
		if err := sc.Err(); err != nil && !errors.Is(err, tfevents.ErrCorrupt) && !errors.Is(err, tfevents.ErrTooLarge) {
			s.log.ErrorContext(ctx, "export scalars", "board", b.ID, "run", r.d.Run, "file", file, "err", err)
			return nil // headers are sent: the truncated body is the error
		}
	}
	if format == "json" {
		w.WriteString("]")
	}
	return w.Flush()
}

// safeFileName keeps letters, digits and a few marks, for download names.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

// exportRaw streams every raw file of the board as a tar.gz of
// <run>/<file>, byte for byte as uploaded.
func (s *Server) exportRaw(c *gin.Context) error {
	b, err := s.readableBoard(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	runs, err := s.boardRuns(ctx, b.ID)
	if err != nil {
		return err
	}
	c.Header("Content-Type", "application/gzip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="tbhost-%s.tar.gz"`, b.ID))
	c.Status(http.StatusOK)
	gz := gzip.NewWriter(c.Writer)
	tw := tar.NewWriter(gz)
	for _, r := range runs {
		for _, file := range runFiles(r) {
			fs := r.d.Files[file]
			name := path.Join(r.d.Run, file)
			hdr := &tar.Header{Name: name, Mode: 0o644, Size: fs.Size, ModTime: b.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil // the client went away
			}
			if err := s.copyRaw(ctx, tw, b.ID, r.d.Run, file, fs.Size); err != nil {
				s.log.ErrorContext(ctx, "export raw", "board", b.ID, "run", r.d.Run, "file", file, "err", err)
				return nil // headers are sent: a truncated archive is the error
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil
	}
	gz.Close()
	return nil
}
