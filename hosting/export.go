package hosting

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/kind"
	"tbhost/hosting/web"
	"tbhost/tfevents"
)

// exportScalars streams every value of a scalar series, from the raw
// files, as CSV (TensorBoard's header) or JSON rows [wall_time, step, value].
func (s *Server) exportScalars(c *gin.Context) error {
	b, r, tag, err := s.h.SeriesRequest(c)
	if err != nil {
		return err
	}
	format := c.DefaultQuery("format", "csv")
	if format != "csv" && format != "json" {
		return kind.Errorf(kind.Invalid, "format=%q: give csv or json", format)
	}
	ctx := c.Request.Context()
	name := safeFileName(r.Name() + "_" + tag)
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
	for _, file := range r.Files() {
		pr, pw := io.Pipe()
		copied := make(chan error, 1)
		go func() {
			err := s.h.Engine.CopyRaw(ctx, pw, b.ID, r.Name(), file, r.Digest().Files[file].Size)
			pw.CloseWithError(err)
			copied <- err
		}()
		sc := tfevents.NewScanner(pr, tfevents.Options{})
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
				row = web.AppendFloat(row, v.WallTime)
				row = append(row, ',')
				row = strconv.AppendInt(row, v.Step, 10)
				row = append(row, ',')
				row = web.AppendFloat(row, v.Scalar)
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
				sc.Close()
				<-copied
				return nil // the client went away
			}
		}
		pr.Close() // (a corrupt tail is not read on)
		sc.Close()
		err := <-copied
		if errors.Is(err, io.ErrClosedPipe) {
			err = nil // the scan stopped first
		}
		if serr := sc.Err(); err == nil && !errors.Is(serr, tfevents.ErrCorrupt) && !errors.Is(serr, tfevents.ErrTooLarge) {
			err = serr // (a corrupt file ends there, as for TensorBoard)
		}
		if err != nil {
			return s.failExport(c, "export scalars", err, "board", b.ID, "run", r.Name(), "file", file, "tag", tag)
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
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	runs, err := s.h.Engine.Runs(ctx, b.ID)
	if err != nil {
		return err
	}
	c.Header("Content-Type", "application/gzip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="tbhost-%s.tar.gz"`, b.ID))
	c.Status(http.StatusOK)
	gz := gzip.NewWriter(c.Writer)
	tw := tar.NewWriter(gz)
	for _, r := range runs {
		for _, file := range r.Files() {
			fs := r.Digest().Files[file]
			name := path.Join(r.Name(), file)
			hdr := &tar.Header{Name: name, Mode: 0o644, Size: fs.Size, ModTime: b.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil // the client went away
			}
			if err := s.h.Engine.CopyRaw(ctx, tw, b.ID, r.Name(), file, fs.Size); err != nil {
				return s.failExport(c, "export raw", err, "board", b.ID, "run", r.Name(), "file", file)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil
	}
	gz.Close()
	return nil
}

// failExport ends an export that failed with err: logged with what names
// the file (attrs), and answered as a failure, never as a shorter file.
// Before any byte of the body is sent, that is an error status; after, the
// response is aborted (abortResponse), so that the client sees it break off
// rather than end. A request its client gave up is not logged as a failure.
func (s *Server) failExport(c *gin.Context, what string, err error, attrs ...any) error {
	ctx := c.Request.Context()
	if ctx.Err() != nil {
		s.log.DebugContext(ctx, what+": the client went away", append(attrs, "err", err)...)
		if c.Writer.Written() {
			abortResponse(c)
		}
		return nil
	}
	if !c.Writer.Written() {
		s.log.ErrorContext(ctx, what+" failed", append(attrs, "err", err)...)
		c.Writer.Header().Del("Content-Type")
		c.Writer.Header().Del("Content-Disposition")
		return err
	}
	s.log.ErrorContext(ctx, what+" failed: response aborted", append(attrs, "err", err)...)
	abortResponse(c)
	return nil
}

// abortResponse breaks off a response whose status and part of whose body
// are sent: it closes the connection without ending the chunked body
// (HTTP/1.x, which tbhost serves), so that the client reads an unexpected
// EOF. Where the connection cannot be taken over (HTTP/2) it panics with
// http.ErrAbortHandler, for net/http to reset the stream.
func abortResponse(c *gin.Context) {
	var rw http.ResponseWriter = c.Writer
	if u, ok := rw.(interface{ Unwrap() http.ResponseWriter }); ok {
		rw = u.Unwrap() // gin's writer refuses once the body has begun
	}
	if conn, _, err := http.NewResponseController(rw).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
