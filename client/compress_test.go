package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decodingServer is a fakeServer behind the decoding of compressed upload
// bodies, as the hosting server does it: it takes the codings in decodes,
// answers others with 415, and says what it takes in Accept-Encoding.
type decodingServer struct {
	inner *fakeServer
	// advertise is the Accept-Encoding of every answer; nil sends none
	// (a server older than compressed uploads).
	advertise *string
	decodes   map[string]bool
	// refuse400, if set, answers an unknown coding with 400 and this
	// message instead of 415.
	refuse400 string

	mu   sync.Mutex
	puts []seenPut // every PUT, refused or not
}

type seenPut struct {
	name      string // run/file
	encoding  string
	wire, raw int
	status    int
}

func (d *decodingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d.advertise != nil {
		w.Header().Set("Accept-Encoding", *d.advertise)
	}
	if r.Method != http.MethodPut {
		d.inner.ServeHTTP(w, r)
		return
	}
	wire, _ := io.ReadAll(r.Body)
	ce := r.Header.Get("Content-Encoding")
	put := seenPut{name: r.URL.Query().Get("run") + "/" + r.URL.Query().Get("file"), encoding: ce, wire: len(wire), raw: len(wire), status: http.StatusOK}
	defer func() {
		d.mu.Lock()
		d.puts = append(d.puts, put)
		d.mu.Unlock()
	}()
	raw := wire
	if ce != "" {
		var err error
		switch {
		case !d.decodes[ce]:
			err = fmt.Errorf("unsupported Content-Encoding %q", ce)
		case ce == "zstd":
			var dec *zstd.Decoder
			if dec, err = zstd.NewReader(nil); err == nil {
				raw, err = dec.DecodeAll(wire, nil)
				dec.Close()
			}
		case ce == "gzip":
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(wire)); err == nil {
				raw, err = io.ReadAll(zr)
			}
		}
		if err != nil {
			put.status = http.StatusUnsupportedMediaType
			if d.refuse400 != "" {
				put.status = http.StatusBadRequest
				err = fmt.Errorf("%s", d.refuse400)
			}
			var took []string
			for c := range d.decodes {
				took = append(took, c)
			}
			w.Header().Set("Accept-Encoding", strings.Join(took, ", "))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(put.status)
			json.NewEncoder(w).Encode(map[string]any{"error": err.Error()})
			return
		}
		put.raw = len(raw)
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	r.ContentLength = int64(len(raw))
	r.Header.Del("Content-Encoding")
	d.inner.ServeHTTP(w, r)
}

func ptr[T any](v T) *T { return &v }

func TestCompressedUpload(t *testing.T) {
	// Event files that compress (a scalar's records look alike), one
	// that does not, one too small to bother, one empty.
	var scalars strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&scalars, "step %d loss %.4f\n", i, 1/float64(i+1))
	}
	noise := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	files := map[string]string{
		"a/events.out.tfevents.1": scalars.String(),
		"b/events.out.tfevents.1": scalars.String()[:100000],
		"b/events.out.tfevents.2": string(noise),
		"c/events.out.tfevents.1": "tiny",
		"d/events.out.tfevents.1": "",
	}
	tests := []struct {
		name      string
		advertise *string
		decodes   map[string]bool
		refuse400 string
		off       bool // WithCompression(false)
		// wantRefused are the codings of the requests refused, in order;
		// wantCoding is the coding of the compressible bodies answered.
		wantRefused []string
		wantCoding  string
	}{
		{name: "zstd when the server takes zstd and gzip", advertise: ptr("zstd, gzip"), decodes: map[string]bool{"zstd": true, "gzip": true}, wantCoding: "zstd"},
		{name: "gzip when the server takes only gzip", advertise: ptr("gzip"), decodes: map[string]bool{"gzip": true}, wantCoding: "gzip"},
		{name: "a coding with q=0 is not taken", advertise: ptr("zstd;q=0, gzip;q=0.5"), decodes: map[string]bool{"zstd": true, "gzip": true}, wantCoding: "gzip"},
		{name: "none to a server that never said (older servers keep what they get)", advertise: nil, decodes: map[string]bool{"zstd": true}, wantCoding: ""},
		{name: "none when turned off", advertise: ptr("zstd, gzip"), decodes: map[string]bool{"zstd": true, "gzip": true}, off: true, wantCoding: ""},
		{name: "415: the next coding, then none", advertise: ptr("zstd, gzip"), decodes: map[string]bool{}, wantRefused: []string{"zstd", "gzip"}, wantCoding: ""},
		{name: "415 listing gzip: gzip", advertise: ptr("zstd, gzip"), decodes: map[string]bool{"gzip": true}, wantRefused: []string{"zstd"}, wantCoding: "gzip"},
		{name: "400 naming Content-Encoding: none", advertise: ptr("zstd"), decodes: map[string]bool{}, refuse400: "bad request: Content-Encoding zstd is not supported", wantRefused: []string{"zstd"}, wantCoding: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer("tok")
			ds := &decodingServer{inner: fs, advertise: tt.advertise, decodes: tt.decodes, refuse400: tt.refuse400}
			srv := httptest.NewServer(ds)
			defer srv.Close()
			dir := logDir(t, files)
			var last Progress
			u := &Uploader{Client: New(srv.URL, fastRetry, WithCompression(!tt.off)), Board: "b1", Token: "tok", Dir: dir,
				ChunkSize: 32 << 10, Parallel: 1, Progress: func(p Progress) { last = p }}
			s, err := u.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range files {
				run, file, _ := strings.Cut(name, "/")
				if got := fs.file(run, file); string(got) != want {
					t.Errorf("%s: the server holds %d bytes, not the %d of the file", name, len(got), len(want))
				}
			}
			var refused []string
			var wire, raw int
			for _, p := range ds.puts {
				if p.status != http.StatusOK {
					refused = append(refused, p.encoding)
					continue
				}
				want := tt.wantCoding
				if !strings.HasPrefix(files[p.name], "step") {
					want = "" // noise, tiny or empty: not worth it
				}
				if p.encoding != want {
					t.Errorf("%s: a body of %d bytes went in %q, want %q", p.name, p.raw, p.encoding, want)
				}
				wire += p.wire
				raw += p.raw
			}
			if fmt.Sprint(refused) != fmt.Sprint(tt.wantRefused) {
				t.Errorf("refused codings %q, want %q", refused, tt.wantRefused)
			}
			// Offsets and sizes are uncompressed bytes; Wire is what went.
			total := 0
			for _, c := range files {
				total += len(c)
			}
			if s.Sent != int64(total) || int(s.Wire) != wire || int(s.Wire) > total {
				t.Errorf("Summary: Sent %d, Wire %d; want %d and %d", s.Sent, s.Wire, total, wire)
			}
			if compressed := tt.wantCoding != ""; compressed != (s.Wire < s.Sent) || last.Compressed != compressed || last.Wire != s.Wire {
				t.Errorf("Wire %d of %d; last progress: %+v", s.Wire, s.Sent, last)
			}
			if tt.wantCoding == "" && wire != raw {
				t.Errorf("uncompressed, the wire carried %d bytes for %d", wire, raw)
			}
		})
	}
}

// TestCompressedUploadResumes checks that compression leaves offsets alone:
// a resumed upload and a gap continue from uncompressed offsets.
func TestCompressedUploadResumes(t *testing.T) {
	var content strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&content, "record %d value %d\n", i, i%97)
	}
	want := content.String()
	tests := []struct {
		name  string
		held  int   // bytes the server already holds
		claim int64 // the size it claims (-1: held): a gap when above
	}{
		{"from the start", 0, -1},
		{"resumed", 100000, -1},
		{"a gap: the server lost bytes it had reported", 100000, 300000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer("tok")
			fs.files["r\x00events.out.tfevents.1"] = []byte(want[:tt.held])
			if tt.claim >= 0 {
				fs.claim["r\x00events.out.tfevents.1"] = tt.claim
			}
			ds := &decodingServer{inner: fs, advertise: ptr("zstd"), decodes: map[string]bool{"zstd": true}}
			srv := httptest.NewServer(ds)
			defer srv.Close()
			dir := logDir(t, map[string]string{"r/events.out.tfevents.1": want})
			u := &Uploader{Client: New(srv.URL, fastRetry), Board: "b1", Token: "tok", Dir: dir, ChunkSize: 64 << 10}
			s, err := u.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.file("r", "events.out.tfevents.1"); string(got) != want {
				t.Fatalf("the server holds %d bytes, not the file's %d", len(got), len(want))
			}
			zstdPuts := 0
			for _, p := range ds.puts {
				if p.encoding == "zstd" {
					zstdPuts++
				}
			}
			if zstdPuts == 0 || s.Wire >= s.Sent {
				t.Errorf("%d zstd requests; sent %d, %d on the wire", zstdPuts, s.Sent, s.Wire)
			}
		})
	}
}

func TestAcceptEncoding(t *testing.T) {
	tests := []struct {
		header []string // nil: no header
		want   string   // the coding chosen after it, from none known
	}{
		{nil, ""},
		{[]string{"zstd"}, "zstd"},
		{[]string{"gzip, zstd"}, "zstd"},
		{[]string{"gzip"}, "gzip"},
		{[]string{"GZIP ; q=1"}, "gzip"},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"zstd;q=0.0", "gzip"}, "gzip"},
		{[]string{"*"}, "zstd"},
		{[]string{"br, deflate"}, ""},
		{[]string{""}, ""}, // identity only
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.header), func(t *testing.T) {
			var s codingState
			h := http.Header{}
			if tt.header != nil {
				h["Accept-Encoding"] = tt.header
			}
			s.learn(h)
			if got := s.choose(); got != tt.want {
				t.Errorf("choose = %q, want %q", got, tt.want)
			}
		})
	}
	// An answer without the header changes nothing; a refusal sticks.
	var s codingState
	s.learn(http.Header{"Accept-Encoding": {"zstd, gzip"}})
	s.learn(http.Header{})
	if got := s.choose(); got != "zstd" {
		t.Errorf("after an answer without Accept-Encoding: %q, want zstd", got)
	}
	s.refuse("zstd")
	s.learn(http.Header{"Accept-Encoding": {"zstd, gzip"}})
	if got := s.choose(); got != "gzip" {
		t.Errorf("after zstd was refused: %q, want gzip", got)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	src := bytes.Repeat([]byte("wall_time step value "), 10000)
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	decode := map[string]func([]byte) ([]byte, error){
		"zstd": func(b []byte) ([]byte, error) { return dec.DecodeAll(b, nil) },
		"gzip": func(b []byte) ([]byte, error) {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(zr)
		},
	}
	for coding, dec := range decode {
		t.Run(coding, func(t *testing.T) {
			// Concurrent encodes share the pooled encoders.
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					in := src[:len(src)-i*1000]
					out := encode(coding, in, []byte("prefix"))
					if !bytes.HasPrefix(out, []byte("prefix")) {
						t.Errorf("encode did not append to dst")
						return
					}
					got, err := dec(out[len("prefix"):])
					if err != nil || !bytes.Equal(got, in) {
						t.Errorf("decoded %d bytes (%v), want the %d encoded", len(got), err, len(in))
					}
					if len(out) > len(in)/10 {
						t.Errorf("%s made %d bytes of %d repetitive ones", coding, len(out), len(in))
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestGuardedBody(t *testing.T) {
	g := &guardedBody{b: []byte("abcdef")}
	p := make([]byte, 4)
	if n, err := g.Read(p); n != 4 || err != nil || string(p) != "abcd" {
		t.Fatalf("Read = %d, %v, %q", n, err, p[:n])
	}
	g.release()
	if n, err := g.Read(p); n != 0 || err == nil || err == io.EOF {
		t.Errorf("Read after release = %d, %v; want an error", n, err)
	}
}

func TestProgressPrinterWire(t *testing.T) {
	tests := []struct {
		p    Progress
		want string
	}{
		{Progress{FilesTotal: 3, BytesDone: 12 << 20, Wire: 3 << 20, Compressed: true, Done: true, Pass: 1}, "sent 12.0 MiB (3.0 MiB on the wire) in 3 files"},
		{Progress{FilesTotal: 3, BytesDone: 12 << 20, Wire: 12 << 20, Done: true, Pass: 1}, "sent 12.0 MiB in 3 files"},
		{Progress{FilesTotal: 1, BytesDone: 2 << 20, Wire: 1 << 20, Compressed: true, Done: true, Pass: 2}, "sent 2.0 MiB (1.0 MiB on the wire) to 1 file"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			var buf bytes.Buffer
			NewProgressPrinter(&buf, false).Update(tt.p)
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("printed %q, want %q in it", buf.String(), tt.want)
			}
		})
	}
}

func TestRefusesCoding(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&APIError{Status: 415}, true},
		{fmt.Errorf("uploading: %w", &APIError{Status: 415, Message: "nope"}), true},
		{&APIError{Status: 400, Message: `Content-Encoding "zstd" is not one this server reads`}, true},
		{&APIError{Status: 400, Message: "the zstd body is corrupt: unexpected EOF; nothing was stored"}, true},
		{&APIError{Status: 400, Message: "bad offset"}, false},
		{&APIError{Status: 409, Message: "Content-Encoding"}, false},
		{&APIError{Status: 503}, false},
		{&UnreachableError{Server: "x", Err: io.EOF}, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := refusesCoding(tt.err, "zstd"); got != tt.want {
				t.Errorf("refusesCoding = %v, want %v", got, tt.want)
			}
		})
	}
}
