package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Upload bodies go compressed to a server that says it takes them
// (client-initiated content coding, RFC 7694): an answer's Accept-Encoding
// header lists the codings the server decodes in requests. The client
// prefers zstd, then gzip, and names the coding in Content-Encoding;
// offsets and sizes stay in uncompressed bytes. A server that never said
// so gets bodies as they are: a server older than compressed uploads
// ignores Content-Encoding and would keep the compressed bytes as the
// file's. A 415 answer (or a 400 that names Content-Encoding or the
// coding) to a compressed body makes the client send that coding no more
// and send the body again, in the next coding the server takes or as it
// is.

const (
	codingZstd = "zstd"
	codingGzip = "gzip"
)

// codingPreference is the order codings are chosen in.
var codingPreference = [...]string{codingZstd, codingGzip}

// minCompress is the smallest body worth compressing.
const minCompress = 256

// codingState is what a Client knows of the server's codings.
type codingState struct {
	mu       sync.Mutex
	accepted map[string]bool // per the server's last Accept-Encoding
	refused  map[string]bool // answered 415 (or 400) to
}

// WithCompression turns compressed uploads on (the default) or off.
func WithCompression(on bool) Option { return func(c *Client) { c.noCompress = !on } }

// learn notes the codings an answer's Accept-Encoding lists, if it has one.
func (s *codingState) learn(h http.Header) {
	vals, ok := h[http.CanonicalHeaderKey("Accept-Encoding")]
	if !ok {
		return
	}
	acc := map[string]bool{}
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" || qZero(params) {
				continue
			}
			acc[name] = true
		}
	}
	s.mu.Lock()
	s.accepted = acc
	s.mu.Unlock()
}

// qZero reports whether parameters hold q=0 ("not acceptable").
func qZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

// choose returns the coding to send a body in, "" for none.
func (s *codingState) choose() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codingPreference {
		if (s.accepted[c] || s.accepted["*"]) && !s.refused[c] {
			return c
		}
	}
	return ""
}

// refuse notes that the server would not take coding.
func (s *codingState) refuse(coding string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	s.refused[coding] = true
}

// refusesCoding reports whether err is a server's refusal of a body in
// coding: a 415, or a 400 whose message names Content-Encoding or the
// coding (a body the server could not decode goes again as it is).
func refusesCoding(err error, coding string) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusUnsupportedMediaType:
		return true
	case http.StatusBadRequest:
		msg := strings.ToLower(e.Message)
		return strings.Contains(msg, "content-encoding") || strings.Contains(msg, "content encoding") ||
			strings.Contains(msg, coding)
	}
	return false
}

// zstdEncoder is shared: EncodeAll may be called concurrently and keeps
// one encoder state per core, reused. A 1 MiB window keeps those states
// small and any decoder able to read the frames (RFC 8878 asks decoders
// for 8 MiB).
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(1<<20),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
	if err != nil {
		panic(err) // the options are constant
	}
	return e
})

// gzipWriters are reused: a gzip.Writer's state is ~1 MiB.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return w
}}

// bodyBuffers hold compressed bodies until their request is answered.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// appendWriter appends what it is written to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// encode appends src compressed with coding to dst.
func encode(coding string, src, dst []byte) []byte {
	switch coding {
	case codingZstd:
		return zstdEncoder().EncodeAll(src, dst)
	case codingGzip:
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		out := &appendWriter{b: dst}
		w.Reset(out)
		w.Write(src) // an appendWriter does not fail
		w.Close()
		return out.b
	}
	panic("client: unknown coding " + coding)
}

// doCompressed sends data as the body of r (whose body, length and
// contentEncoding it sets) and decodes the JSON answer into out, as doJSON
// does (retried per the client's policy). The body goes compressed in the
// coding the server takes (see codingState.choose) when it is at least
// minCompress bytes and compression saves more than 1/32 of them. A
// refusal of the coding (see refusesCoding) makes the client send that
// coding no more and send the same bytes again, in the next coding or as
// they are. It returns the body's size as sent and its coding ("" for
// none). data may be reused once doCompressed returns.
func (c *Client) doCompressed(ctx context.Context, r request, data []byte, out any) (int64, string, error) {
	for {
		coding := ""
		if !c.noCompress && len(data) >= minCompress {
			coding = c.codings.choose()
		}
		body := data
		var buf *[]byte
		if coding != "" {
			buf = bodyBuffers.Get().(*[]byte)
			*buf = encode(coding, data, (*buf)[:0])
			if len(*buf) < len(data)-len(data)/32 {
				body = *buf
			} else {
				coding = "" // not worth the server's decoding
			}
		}
		var sent []*guardedBody
		r.body = func() (io.Reader, error) {
			g := &guardedBody{b: body}
			sent = append(sent, g)
			return g, nil
		}
		r.length, r.contentEncoding = int64(len(body)), coding
		err := c.doJSON(ctx, &r, out)
		for _, g := range sent {
			g.release()
		}
		if buf != nil {
			bodyBuffers.Put(buf)
		}
		if err != nil && coding != "" && refusesCoding(err, coding) {
			// A refusal is an answer before any JSON was decoded: out is
			// untouched.
			c.codings.refuse(coding)
			continue // the same bytes, in another coding or none
		}
		if err != nil {
			return 0, "", err
		}
		return int64(len(body)), coding, nil
	}
}

// guardedBody is a request body whose bytes may be reused once it is
// closed: the transport may still read a body after the request was
// answered (an answer that came before the whole body went), and a read
// after closing finds nothing.
type guardedBody struct {
	mu   sync.Mutex
	b    []byte
	off  int
	done bool
}

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return 0, errBodyReleased
	}
	if g.off >= len(g.b) {
		return 0, io.EOF
	}
	n := copy(p, g.b[g.off:])
	g.off += n
	return n, nil
}

var errBodyReleased = errors.New("request body read after its request was answered")

// release makes later reads fail; it returns once no read is running.
func (g *guardedBody) release() {
	g.mu.Lock()
	g.done = true
	g.b = nil
	g.mu.Unlock()
}
