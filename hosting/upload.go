package hosting

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/zstd"

	"tbhost/hosting/kind"
	"tbhost/hosting/web"
)

// bodies recycles upload request bodies: at megabytes each, allocating
// (and zeroing) one per request costs more than parsing it. Nothing keeps
// a body past its request: Store.Put does not retain data, and the parser
// copies what it keeps.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// zstdDecoders recycles zstd decoders (each holds its window buffers).
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return err
	}
	return d
}}

// appendFile takes PUT /api/boards/:id/files?run&file&offset: the body is
// the file's bytes from offset on, plain or compressed (Content-Encoding
// gzip or zstd; offsets count uncompressed bytes).
func (s *Server) appendFile(c *gin.Context) error {
	b, err := s.h.WritableBoard(c)
	if err != nil {
		return err
	}
	offset, err := web.QueryInt(c, "offset", 0)
	if err != nil {
		return err
	}
	body := bodies.Get().(*bytes.Buffer)
	defer func() {
		if body.Cap() <= 2*int(s.cfg.MaxRequestBytes) {
			body.Reset()
			bodies.Put(body)
		}
	}()
	if err := s.readBody(c.Request, body); err != nil {
		return err
	}
	res, err := s.eng.Append(c.Request.Context(), b.ID, c.Query("run"), c.Query("file"), offset, body.Bytes())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

// readBody reads an upload body into buf, decompressing it as its
// Content-Encoding says. The limit applies to the bytes on the wire and to
// the decompressed bytes alike, so a small body that inflates past it (a
// decompression bomb) is refused whole, before anything is stored.
func (s *Server) readBody(r *http.Request, buf *bytes.Buffer) error {
	limit := s.cfg.MaxRequestBytes
	if r.ContentLength > limit {
		return kind.Errorf(kind.TooLarge, "the request body is %d bytes; this server takes at most %d per request: send the file in pieces", r.ContentLength, limit)
	}
	var in io.Reader = io.LimitReader(r.Body, limit+1)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		if n := r.ContentLength; n > 0 {
			buf.Grow(int(n) + bytes.MinRead)
		}
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return kind.Errorf(kind.Invalid, "the body says Content-Encoding: gzip but is not gzip data: %v", err)
		}
		defer zr.Close()
		in = zr
	case "zstd":
		d, ok := zstdDecoders.Get().(*zstd.Decoder)
		if !ok {
			return fmt.Errorf("zstd decoder: %v", zstdDecoders.New())
		}
		if err := d.Reset(in); err != nil {
			return kind.Errorf(kind.Invalid, "the body says Content-Encoding: zstd but is not zstd data: %v", err)
		}
		defer func() {
			d.Reset(nil)
			zstdDecoders.Put(d)
		}()
		in = d
	default:
		return kind.Errorf(kind.UnsupportedEncoding, "Content-Encoding %q is not one this server reads: send the body plain, gzip or zstd", enc)
	}
	n, err := buf.ReadFrom(io.LimitReader(in, limit+1))
	if n > limit {
		if enc == "" || enc == "identity" {
			return kind.Errorf(kind.TooLarge, "the request body is over %d bytes, the most this server takes per request: send the file in pieces", limit)
		}
		return kind.Errorf(kind.TooLarge, "the %s body decompresses to over %d bytes, the most this server takes per request: nothing was stored; send the file in smaller pieces", enc, limit)
	}
	if err != nil {
		if enc != "" && enc != "identity" && !errors.Is(err, io.ErrUnexpectedEOF) {
			return kind.Errorf(kind.Invalid, "the %s body is corrupt: %v; nothing was stored", enc, err)
		}
		return kind.Errorf(kind.Invalid, "read request body: %w", err)
	}
	return nil
}
