package hosting_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"tbhost/hosting"
	"tbhost/hosting/engine"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// putEncoded sends body as a file's bytes from offset with the given
// Content-Encoding, and returns the status and the answer.
func putEncoded(t *testing.T, a api, bd created, file string, offset int, encoding string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("PUT", fmt.Sprintf("%s/api/boards/%s/files?run=r&file=%s&offset=%d", a.base, bd.ID, file, offset), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bd.Token)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Accept-Encoding"); !strings.Contains(got, "zstd") || !strings.Contains(got, "gzip") {
		t.Errorf("the answer advertises Accept-Encoding %q, want zstd and gzip", got)
	}
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// Upload bodies may be gzip or zstd: offsets count the decompressed bytes,
// resume and gaps keep their meaning, a body that inflates past the
// request limit is refused whole, and an unknown coding is a 415 the
// client can fall back from. On every store.
func TestCompressedUploads(t *testing.T) {
	fa, _ := runFiles(t)
	half := len(fa) / 2
	const limit = 64 << 10
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.new(t)
			_, a := replica(t, st, hosting.Config{MaxRequestBytes: limit})
			bd := a.create("compressed")
			tests := []struct {
				name       string
				file       string
				offset     int
				encoding   string
				body       []byte
				wantStatus int
				wantSize   int // the file's size after, when 200
				says       string
			}{
				{"zstd, first half", "f", 0, "zstd", zstded(t, fa[:half]), 200, half, ""},
				{"gzip, the same bytes again", "f", 0, "gzip", gzipped(t, fa[:half]), 200, half, ""},
				{"a gap, compressed", "f", half + 10, "zstd", zstded(t, fa[half+10:]), 409, 0, "resend from offset"},
				{"gzip, second half", "f", half, "gzip", gzipped(t, fa[half:]), 200, len(fa), ""},
				{"a bomb", "g", 0, "zstd", zstded(t, make([]byte, 4*limit)), 413, 0, "decompresses to over"},
				{"not zstd", "g", 0, "zstd", []byte("plain bytes"), 400, 0, "zstd body is corrupt"},
				{"an unknown coding", "g", 0, "br", []byte("x"), 415, 0, "plain, gzip or zstd"},
			}
			for _, tt := range tests {
				status, data := putEncoded(t, a, bd, tt.file, tt.offset, tt.encoding, tt.body)
				if status != tt.wantStatus || !strings.Contains(string(data), tt.says) {
					t.Fatalf("%s: %d %s; want %d saying %q", tt.name, status, data, tt.wantStatus, tt.says)
				}
				if status == 200 {
					var res engine.AppendResult
					if err := json.Unmarshal(data, &res); err != nil {
						t.Fatal(err)
					}
					if res.Size != int64(tt.wantSize) {
						t.Fatalf("%s: the server holds %d bytes, want %d", tt.name, res.Size, tt.wantSize)
					}
				}
			}
			if got := a.tags(bd.ID)["r"]["loss"].Count; got != 3000 {
				t.Errorf("the run has %d values, want 3000", got)
			}
			sameFiles(t, a.rawExport(bd.ID), map[string][]byte{"r/f": fa})
			objs, err := st.List(context.Background(), "boards/"+bd.ID+"/raw/r/g/", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 0 {
				t.Errorf("refused bodies left %d objects", len(objs))
			}
		})
	}
}
