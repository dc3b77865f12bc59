package hosting_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
	"tbhost/tfevents"
	"tbhost/tfevents/tfeventstest"
)

// piece is one frame of a batch body.
type piece struct {
	run, file string
	offset    int64
	data      []byte
}

// batchBody encodes pieces in the batch wire format (hosting/batch.go).
func batchBody(pieces ...piece) []byte {
	b := []byte("TBB1")
	for _, p := range pieces {
		b = binary.AppendUvarint(b, uint64(len(p.run)))
		b = append(b, p.run...)
		b = binary.AppendUvarint(b, uint64(len(p.file)))
		b = append(b, p.file...)
		b = binary.AppendUvarint(b, uint64(p.offset))
		b = binary.AppendUvarint(b, uint64(len(p.data)))
		b = append(b, p.data...)
	}
	return b
}

// batchResult is one entry of a batch answer.
type batchResult struct {
	Run, File string
	Size      int64
	Records   int64
	Values    int64
	Status    int
	Error     string
	Offset    *int64
}

// batch posts a batch and returns the status and, on 200, the pieces' answers.
func (a api) batch(b created, body []byte) (int, []batchResult) {
	a.t.Helper()
	status, data := a.do("POST", "/api/boards/"+b.ID+"/batch", b.Token, bytes.NewReader(body))
	if status != http.StatusOK {
		return status, nil
	}
	var out struct{ Pieces []batchResult }
	if err := json.Unmarshal(data, &out); err != nil {
		a.t.Fatalf("batch answer %s: %v", data, err)
	}
	return status, out.Pieces
}

// logDirPieces returns a log dir's files cut into pieces of at most chunk
// bytes (anywhere, records cut in two included), in upload order.
func logDirPieces(t *testing.T, dir string, chunk int) ([]piece, map[string][]byte) {
	t.Helper()
	runs, err := tfevents.WalkLogDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []piece
	files := map[string][]byte{}
	for _, r := range runs {
		for _, f := range r.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(f)
			files[pathJoin(r.Name, base)] = data
			for off := 0; off < len(data) || off == 0; off += chunk {
				end := min(off+chunk, len(data))
				out = append(out, piece{r.Name, base, int64(off), data[off:end]})
				if end == len(data) {
					break
				}
			}
		}
	}
	return out, files
}

// TestBatchEndToEnd uploads each corpus in batches on each store, whole
// and mixed with PUTs (a file's first bytes in a batch, the rest in
// parts of their own), and checks that the board holds what a board
// uploaded by PUT holds: the same tags, a byte-identical raw export, the
// same CSV, also from a new server on the same store (which reads the
// batches through the checkpoints).
func TestBatchEndToEnd(t *testing.T) {
	for _, cc := range []struct {
		name string
		get  func(testing.TB) *tfeventstest.Corpus
		dir  string // the log dir in the corpus
	}{
		{"generated", tfeventstest.Generate, "tf2"},
		{"real", tfeventstest.Real, "orktes__go-tensorboard"},
	} {
		t.Run(cc.name, func(t *testing.T) { testBatchEndToEnd(t, filepath.Join(cc.get(t).LogDir, cc.dir)) })
	}
}

func testBatchEndToEnd(t *testing.T, dir string) {
	ref := startServer(t, store.NewMem())
	rb := ref.create("ref")
	ref.upload(rb, dir, 4096)
	wantTags := ref.tags(rb.ID)
	pieces, files := logDirPieces(t, dir, 4096)
	for _, st := range stores {
		for _, mixed := range []bool{false, true} {
			t.Run(st.name+"/mixed="+strconv.FormatBool(mixed), func(t *testing.T) {
				s := st.new(t)
				a := startServer(t, s)
				b := a.create("batch")
				var body []piece
				send := func() {
					status, res := a.batch(b, batchBody(body...))
					if status != http.StatusOK {
						t.Fatalf("batch of %d pieces: status %d", len(body), status)
					}
					for i, r := range res {
						if r.Status != 0 || r.Size != body[i].offset+int64(len(body[i].data)) {
							t.Fatalf("piece %d (%s/%s at %d): %+v", i, body[i].run, body[i].file, body[i].offset, r)
						}
					}
					body = body[:0]
				}
				for _, p := range pieces {
					if mixed && p.offset > 0 {
						if len(body) > 0 {
							send()
						}
						a.json("PUT", filePath(b.ID, p.run, p.file, p.offset), b.Token, bytes.NewReader(p.data), http.StatusOK, nil)
						continue
					}
					body = append(body, p)
					if len(body) == 7 {
						send()
					}
				}
				if len(body) > 0 {
					send()
				}
				if got := a.tags(b.ID); !equalJSON(got, wantTags) {
					t.Errorf("tags of the batched board differ from the PUT board's")
				}
				sameFiles(t, a.rawExport(b.ID), files)
				sameCSV(t, ref, rb, a, b, wantTags)

				fresh := startServer(t, s)
				if got := fresh.tags(b.ID); !equalJSON(got, wantTags) {
					t.Errorf("a new server's tags differ from the PUT board's")
				}
				sameFiles(t, fresh.rawExport(b.ID), files)
			})
		}
	}
}

// sameCSV checks that the full-resolution CSV of up to 40 scalar series
// is the same on two boards, byte for byte.
func sameCSV(t *testing.T, ref api, rb created, a api, b created, tags map[string]map[string]tagSummary) {
	t.Helper()
	checked := 0
	for _, run := range slices.Sorted(maps.Keys(tags)) {
		for _, tag := range slices.Sorted(maps.Keys(tags[run])) {
			if tags[run][tag].Plugin != "scalars" || checked == 40 {
				continue
			}
			checked++
			path := func(id string) string {
				return "/api/boards/" + id + "/export/scalars?format=csv&run=" + url.QueryEscape(run) + "&tag=" + url.QueryEscape(tag)
			}
			ws, want := ref.do("GET", path(rb.ID), "", nil)
			gs, got := a.do("GET", path(b.ID), "", nil)
			if ws != http.StatusOK || gs != ws || !bytes.Equal(got, want) {
				t.Errorf("CSV of %s/%s: status %d, %d bytes; want %d, %d bytes, the same", run, tag, gs, len(got), ws, len(want))
			}
		}
	}
	if checked == 0 {
		t.Error("no scalar series: the CSV check checked nothing")
	}
}

// TestBatchAnswers covers the per-piece answers and the answers to bad
// batches as a whole.
func TestBatchAnswers(t *testing.T) {
	srv, err := hosting.NewServer(hosting.Config{Store: store.NewMem(), MaxRequestBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	a := startServerWith(t, srv)
	b := a.create("answers")
	if status, res := a.batch(b, batchBody(piece{"held", "f", 0, []byte("abc")})); status != 200 || res[0].Size != 3 {
		t.Fatalf("first batch: %d %+v", status, res)
	}
	type want struct {
		status int
		size   int64
		offset int64 // on a gap
	}
	t.Run("pieces", func(t *testing.T) {
		body := batchBody(
			piece{"held", "f", 0, []byte("abc")},      // re-sent: nothing new
			piece{"held", "f", 2, []byte("cde")},      // overlaps: "de" is new
			piece{"held", "f", 9, []byte("x")},        // gap: the server holds 5
			piece{"held", "g", 0, []byte("y")},        // after a failure in its run
			piece{"other", "f", 0, []byte("z")},       // another run goes on
			piece{"../etc", "f", 0, []byte("x")},      // bad run name
			piece{"ok", "a/b", 0, []byte("x")},        // bad file name
			piece{"empty", "events.tfevents", 0, nil}, // an empty file counts
			piece{"other", "f", 1, []byte("zz")},      // its run's next piece
		)
		status, res := a.batch(b, body)
		if status != 200 || len(res) != 9 {
			t.Fatalf("status %d, %d answers", status, len(res))
		}
		wants := []want{{0, 3, 0}, {0, 5, 0}, {409, 0, 5}, {409, 0, -1}, {0, 1, 0}, {400, 0, -1}, {400, 0, -1}, {0, 0, 0}, {0, 3, 0}}
		for i, w := range wants {
			r := res[i]
			if r.Status != w.status || (w.status == 0 && r.Size != w.size) {
				t.Errorf("piece %d: %+v, want status %d size %d", i, r, w.status, w.size)
			}
			if w.status != 0 && r.Error == "" {
				t.Errorf("piece %d: a failure without a sentence: %+v", i, r)
			}
			switch {
			case w.offset > 0 && (r.Offset == nil || *r.Offset != w.offset):
				t.Errorf("piece %d: gap answer %+v does not give offset %d", i, r, w.offset)
			case w.offset < 0 && r.Offset != nil:
				t.Errorf("piece %d: %+v gives an offset", i, r)
			}
		}
		var files struct{ Files []hosting.FileInfo }
		a.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, http.StatusOK, &files)
		got := map[string]int64{}
		for _, f := range files.Files {
			got[f.Run+"/"+f.File] = f.Size
		}
		if w := map[string]int64{"held/f": 5, "other/f": 3, "empty/events.tfevents": 0}; !equalJSON(got, w) {
			t.Errorf("files %v, want %v", got, w)
		}
	})

	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	bomb := gz(batchBody(piece{"bomb", "f", 0, make([]byte, 2<<20)}))
	tests := []struct {
		name     string
		token    string
		encoding string
		body     []byte
		status   int
	}{
		{"no magic", b.Token, "", []byte("PUT1xxxx"), 400},
		{"cut short", b.Token, "", batchBody(piece{"r", "f", 0, []byte("abcdef")})[:12], 400},
		{"name length past the end", b.Token, "", append([]byte("TBB1"), 0x7f, 'r'), 400},
		{"no token", "", "", batchBody(piece{"r", "f", 0, []byte("x")}), 401},
		{"wrong token", "nope", "", batchBody(piece{"r", "f", 0, []byte("x")}), 403},
		{"gzip", b.Token, "gzip", gz(batchBody(piece{"zipped", "f", 0, []byte("x")})), 200},
		{"bomb", b.Token, "gzip", bomb, 413},
		{"too large", b.Token, "", batchBody(piece{"big", "f", 0, make([]byte, 1<<20)}), 413},
		{"no pieces", b.Token, "", []byte("TBB1"), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", a.base+"/api/boards/"+b.ID+"/batch", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, e.Error)
			}
			if tt.status != 200 && e.Error == "" {
				t.Errorf("an error answer without a sentence")
			}
		})
	}
	var files struct{ Files []hosting.FileInfo }
	a.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, http.StatusOK, &files)
	for _, f := range files.Files {
		if f.Run == "bomb" || f.Run == "big" || f.Run == "r" {
			t.Errorf("a refused batch stored %s/%s", f.Run, f.File)
		}
	}
}

// startServerWith serves srv for the test. At its end the server stops
// taking requests, then shuts down as tbhost serve does (Flush: its
// checkpoints and the batches it is settling in the background are
// written), so that nothing writes to the test's temporary store as it is
// removed.
func startServerWith(t *testing.T, srv *hosting.Server) api {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Flush(ctx) // (errors: a test may leave its store broken)
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close) // runs first
	return api{t: t, base: ts.URL}
}

// startBatchServer serves a server over st and returns it too.
func startBatchServer(t *testing.T, st store.Store) (api, *hosting.Server) {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return startServerWith(t, srv), srv
}

// settled writes the board's pending checkpoints (engine.SettleBoard; a
// write that fails once is tried again) and checks that no pending
// marker is left in the store.
func settled(t *testing.T, srv *hosting.Server, st store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	var err error
	for range 3 {
		if err = srv.Engine().SettleBoard(ctx, id); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("settle the board's batches: %v", err)
	}
	left, err := st.List(ctx, "boards/"+id+"/pending/", "")
	if err != nil || len(left) > 0 {
		t.Errorf("pending markers left after the checkpoints: %v (%v)", left, err)
	}
}

// TestBatchCrashSafety fails the n-th store write for every n during a
// batched upload and the checkpoints that follow it (the batch object,
// its pending marker, the runs' checkpoints, the marker's delete), and
// resends every piece of a failed batch from the offsets the server
// reports: the board must end up exactly as after an uninterrupted
// upload, on the server that saw the failure and on a new one, and its
// checkpoints all written, no marker left.
func TestBatchCrashSafety(t *testing.T) {
	dir := filepath.Join(tfeventstest.Generate(t).LogDir, "tf2")
	pieces, files := logDirPieces(t, dir, 4096)
	const perBatch = 5
	upload := func(t *testing.T, a api, b created) {
		t.Helper()
		held := map[[2]string]int64{}
		for i := 0; i < len(pieces); i += perBatch {
			batch := pieces[i:min(i+perBatch, len(pieces))]
			for tries := 0; ; tries++ {
				if tries == 20 {
					t.Fatalf("batch %d: stuck", i/perBatch)
				}
				var send []piece
				for _, p := range batch {
					have := held[[2]string{p.run, p.file}]
					if end := p.offset + int64(len(p.data)); end > have || (end == 0 && have == 0) {
						send = append(send, p)
					}
				}
				status, res := a.batch(b, batchBody(send...))
				ok := status == http.StatusOK
				for _, r := range res {
					ok = ok && r.Status == 0
				}
				if ok {
					for _, p := range send {
						held[[2]string{p.run, p.file}] = p.offset + int64(len(p.data))
					}
					break
				}
				var fs struct{ Files []hosting.FileInfo }
				a.json("GET", "/api/boards/"+b.ID+"/files", b.Token, nil, http.StatusOK, &fs)
				clear(held)
				for _, f := range fs.Files {
					held[[2]string{f.Run, f.File}] = f.Size
				}
			}
		}
	}
	clean := startServer(t, store.NewMem())
	cb := clean.create("clean")
	upload(t, clean, cb)
	wantTags := clean.tags(cb.ID)
	counter := storetest.NewFaulty(store.NewMem(), 0)
	ca, csrv := startBatchServer(t, counter)
	kb := ca.create("count")
	upload(t, ca, kb)
	settled(t, csrv, counter, kb.ID)
	writes := counter.Writes()
	if writes < 4 {
		t.Fatalf("only %d writes", writes)
	}
	for n := 2; n <= writes; n++ { // (write 1 makes the board)
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			mem := store.NewMem()
			f := storetest.NewFaulty(mem, n)
			a, srv := startBatchServer(t, f)
			b := a.create("faulty")
			upload(t, a, b)
			settled(t, srv, f, b.ID)
			// (Checkpoints in the background coalesce as timing has it, so
			// the last few writes of one upload may not happen in another.)
			if f.Failed() > 1 || f.Failed() == 0 && n < writes*9/10 {
				t.Errorf("%d writes failed, want the %d-th", f.Failed(), n)
			}
			if got := a.tags(b.ID); !equalJSON(got, wantTags) {
				t.Errorf("tags after a failure at write %d differ from a clean upload", n)
			}
			sameFiles(t, a.rawExport(b.ID), files)
			fresh := startServer(t, mem)
			if got := fresh.tags(b.ID); !equalJSON(got, wantTags) {
				t.Errorf("a new server's tags after a failure at write %d differ", n)
			}
			sameFiles(t, fresh.rawExport(b.ID), files)
		})
	}
}
