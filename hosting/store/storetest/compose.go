package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// RunCompose runs the conformance suite of store.Compose and
// store.DeleteIf against stores made by newStore (a new, empty store per
// call). A store that is not a store.Composer is served by the functions'
// fallback, which passes the suite too (but for the atomicity a shared
// store needs, which a test of one process cannot see).
//
// The contract it checks, beyond the Composer interface's comments:
//
//   - List reports the generation Get reports (ObjectInfo.Gen), which
//     Compose and DeleteIf take as preconditions.
//   - Composing into the first source grows it; into another key writes a
//     new object. Either way the sources stay.
//   - Of concurrent composes into one key at one generation, exactly one
//     lands; the others get a Conflict.
func RunCompose(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ListGenerations", testListGenerations},
		{"ComposeNew", testComposeNew},
		{"ComposeAppend", testComposeAppend},
		{"ComposeReplace", testComposeReplace},
		{"ComposePreconditions", testComposePreconditions},
		{"ComposeInvalid", testComposeInvalid},
		{"ComposeMaxSources", testComposeMaxSources},
		{"ComposeLarge", testComposeLarge},
		{"ComposeConcurrent", testComposeConcurrent},
		{"ComposeCancelled", testComposeCancelled},
		{"DeleteIf", testDeleteIf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func compose(t testing.TB, s store.Store, dst string, gen int64, srcs ...store.Source) int64 {
	t.Helper()
	g, err := store.Compose(context.Background(), s, dst, gen, srcs)
	if err != nil {
		t.Fatalf("Compose(%s, %d, %v): %v", dst, gen, srcs, err)
	}
	if g == 0 {
		t.Fatalf("Compose(%s): generation 0", dst)
	}
	return g
}

// putGen writes key and returns its generation.
func putGen(t testing.TB, s store.Store, key string, data []byte) int64 {
	t.Helper()
	put(t, s, key, data)
	_, gen := get(t, s, key)
	return gen
}

func testListGenerations(t *testing.T, s store.Store) {
	keys := []string{"g/a", "g/b", "g/c/d"}
	for i, k := range keys {
		put(t, s, k, randomBytes(10+i, uint64(i)))
	}
	put(t, s, "g/b", []byte("again")) // a new generation
	for _, o := range list(t, s, "g/") {
		if _, gen := get(t, s, o.Key); o.Gen != gen {
			t.Errorf("List: %s at generation %d, Get says %d", o.Key, o.Gen, gen)
		}
	}
}

func testComposeNew(t *testing.T, s store.Store) {
	a, b, c := randomBytes(100, 1), randomBytes(1, 2), randomBytes(3000, 3)
	put(t, s, "p/a", a)
	put(t, s, "p/b", b)
	put(t, s, "p/c", c)
	gen := compose(t, s, "q/abc", 0, store.Source{Key: "p/a"}, store.Source{Key: "p/b"}, store.Source{Key: "p/c"})
	got, g := get(t, s, "q/abc")
	wantData(t, "composed", got, concat(a, b, c))
	if g != gen {
		t.Errorf("Compose returned generation %d, Get says %d", gen, g)
	}
	for k, want := range map[string][]byte{"p/a": a, "p/b": b, "p/c": c} {
		got, _ := get(t, s, k)
		wantData(t, "source "+k, got, want)
	}
	// One source is a copy; a source may repeat.
	compose(t, s, "q/a", 0, store.Source{Key: "p/a"})
	got, _ = get(t, s, "q/a")
	wantData(t, "copy", got, a)
	compose(t, s, "q/bb", 0, store.Source{Key: "p/b"}, store.Source{Key: "p/b"})
	got, _ = get(t, s, "q/bb")
	wantData(t, "repeated source", got, concat(b, b))
}

func testComposeAppend(t *testing.T, s store.Store) {
	head, tail1, tail2 := randomBytes(5000, 4), randomBytes(40, 5), randomBytes(7, 6)
	gen := putGen(t, s, "f/0", head)
	g1 := putGen(t, s, "f/5000", tail1)
	g2 := putGen(t, s, "f/5040", tail2)
	newGen := compose(t, s, "f/0", gen, store.Source{Key: "f/0", Gen: gen}, store.Source{Key: "f/5000", Gen: g1}, store.Source{Key: "f/5040", Gen: g2})
	if newGen == gen {
		t.Fatalf("compose into the first source kept its generation %d", gen)
	}
	got, g := get(t, s, "f/0")
	wantData(t, "grown", got, concat(head, tail1, tail2))
	if g != newGen {
		t.Errorf("Compose returned generation %d, Get says %d", newGen, g)
	}
	wantData(t, "read from an offset", readAll(t, s, "f/0", 4990), concat(head[4990:], tail1, tail2))
	// Grow it again from its new generation; the old one is refused.
	if _, err := store.Compose(context.Background(), s, "f/0", gen, []store.Source{{Key: "f/0"}, {Key: "f/5000"}}); err == nil {
		t.Fatal("compose at the old generation succeeded")
	} else {
		wantKind(t, "compose at the old generation", err, kind.Conflict)
	}
	compose(t, s, "f/0", newGen, store.Source{Key: "f/0", Gen: newGen}, store.Source{Key: "f/5040"})
	got, _ = get(t, s, "f/0")
	wantData(t, "grown twice", got, concat(head, tail1, tail2, tail2))
	for _, o := range list(t, s, "f/") {
		if o.Key == "f/0" && o.Size != int64(len(got)) {
			t.Errorf("List: f/0 of %d bytes, want %d", o.Size, len(got))
		}
	}
}

func testComposeReplace(t *testing.T, s store.Store) {
	put(t, s, "r/x", []byte("x"))
	put(t, s, "r/y", []byte("yy"))
	gen := putGen(t, s, "r/dst", []byte("old bytes"))
	compose(t, s, "r/dst", gen, store.Source{Key: "r/y"}, store.Source{Key: "r/x"})
	got, _ := get(t, s, "r/dst")
	wantData(t, "replaced", got, []byte("yyx"))
}

func testComposePreconditions(t *testing.T, s store.Store) {
	ctx := context.Background()
	genA := putGen(t, s, "c/a", []byte("aaa"))
	genB := putGen(t, s, "c/b", []byte("b"))
	genD := putGen(t, s, "c/dst", []byte("dst"))
	tests := []struct {
		name string
		dst  string
		gen  int64
		srcs []store.Source
		want kind.Kind
	}{
		{"dst at another generation", "c/dst", genD + 1, []store.Source{{Key: "c/a"}}, kind.Conflict},
		{"dst exists, none expected", "c/dst", 0, []store.Source{{Key: "c/a"}}, kind.Conflict},
		{"dst missing, one expected", "c/none", genD, []store.Source{{Key: "c/a"}}, kind.Conflict},
		{"first source at another generation", "c/a", genA, []store.Source{{Key: "c/a", Gen: genA + 1}, {Key: "c/b"}}, kind.Conflict},
		{"later source at another generation", "c/dst", genD, []store.Source{{Key: "c/a", Gen: genA}, {Key: "c/b", Gen: genB + 1}}, kind.Conflict},
		{"missing source", "c/dst", genD, []store.Source{{Key: "c/a"}, {Key: "c/missing"}}, kind.NotFound},
		{"missing first source into itself", "c/new", 0, []store.Source{{Key: "c/new"}, {Key: "c/a"}}, kind.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Compose(ctx, s, tc.dst, tc.gen, tc.srcs)
			wantKind(t, "Compose", err, tc.want)
			for k, want := range map[string]string{"c/a": "aaa", "c/b": "b", "c/dst": "dst"} {
				got, _ := get(t, s, k)
				wantData(t, k+" after a failed compose", got, []byte(want))
			}
			for _, k := range []string{"c/none", "c/new"} {
				if _, _, err := s.Get(ctx, k); kind.Of(err) != kind.NotFound {
					t.Errorf("Get(%s) after a failed compose: %v, want NotFound", k, err)
				}
			}
		})
	}
	if _, gen := get(t, s, "c/dst"); gen != genD {
		t.Errorf("c/dst moved from generation %d to %d", genD, gen)
	}
}

func testComposeInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "i/a", []byte("a"))
	tooMany := make([]store.Source, store.MaxComposeSources+1)
	for i := range tooMany {
		tooMany[i] = store.Source{Key: "i/a"}
	}
	tests := []struct {
		name string
		dst  string
		srcs []store.Source
	}{
		{"no sources", "i/dst", nil},
		{"too many sources", "i/dst", tooMany},
		{"bad destination", "i//dst", []store.Source{{Key: "i/a"}}},
		{"bad source", "i/dst", []store.Source{{Key: "i/../a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Compose(ctx, s, tc.dst, 0, tc.srcs)
			wantKind(t, "Compose", err, kind.Invalid)
		})
	}
	if got := keysOf(list(t, s, "i/")); len(got) != 1 {
		t.Errorf("after invalid composes the store holds %v, want only i/a", got)
	}
}

func testComposeMaxSources(t *testing.T, s store.Store) {
	var want []byte
	srcs := make([]store.Source, store.MaxComposeSources)
	for i := range srcs {
		key := fmt.Sprintf("m/%02d", i)
		data := randomBytes(i*37+1, uint64(i))
		put(t, s, key, data)
		srcs[i] = store.Source{Key: key}
		want = append(want, data...)
	}
	compose(t, s, "m/all", 0, srcs...)
	got, _ := get(t, s, "m/all")
	wantData(t, "32 sources", got, want)
}

func testComposeLarge(t *testing.T, s store.Store) {
	a := randomBytes(3<<20+17, 7)
	b := randomBytes(5<<20+3, 8)
	genA := putGen(t, s, "l/a", a)
	put(t, s, "l/b", b)
	compose(t, s, "l/a", genA, store.Source{Key: "l/a", Gen: genA}, store.Source{Key: "l/b"}, store.Source{Key: "l/a", Gen: genA})
	got, _ := get(t, s, "l/a")
	wantData(t, "large", got, concat(a, b, a))
}

func testComposeConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	gen := putGen(t, s, "k/0", []byte("head"))
	for i := range n {
		put(t, s, fmt.Sprintf("k/%d", i+1), fmt.Appendf(nil, "<%d>", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = store.Compose(ctx, s, "k/0", gen, []store.Source{{Key: "k/0", Gen: gen}, {Key: fmt.Sprintf("k/%d", i+1)}})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("composes %d and %d both landed at generation %d", won, i, gen)
		case err == nil:
			won = i
		case kind.Of(err) != kind.Conflict:
			t.Fatalf("compose %d: %v, want a Conflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no compose landed")
	}
	got, _ := get(t, s, "k/0")
	wantData(t, "the winner's", got, fmt.Appendf(nil, "head<%d>", won))
}

func testComposeCancelled(t *testing.T, s store.Store) {
	put(t, s, "x/a", []byte("a"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := store.Compose(ctx, s, "x/dst", 0, []store.Source{{Key: "x/a"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Compose with a cancelled context: %v, want context.Canceled", err)
	}
	if err := store.DeleteIf(ctx, s, "x/a", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteIf with a cancelled context: %v, want context.Canceled", err)
	}
	if got := keysOf(list(t, s, "x/")); len(got) != 1 {
		t.Errorf("after a cancelled compose the store holds %v, want only x/a", got)
	}
}

func testDeleteIf(t *testing.T, s store.Store) {
	ctx := context.Background()
	gen := putGen(t, s, "d/a", []byte("one"))
	put(t, s, "d/a", []byte("two")) // a newer generation
	_, newGen := get(t, s, "d/a")
	if err := store.DeleteIf(ctx, s, "d/a", gen); err != nil {
		t.Fatalf("DeleteIf at an old generation: %v", err)
	}
	got, _ := get(t, s, "d/a")
	wantData(t, "after DeleteIf at an old generation", got, []byte("two"))
	if err := store.DeleteIf(ctx, s, "d/a", newGen); err != nil {
		t.Fatalf("DeleteIf: %v", err)
	}
	if _, _, err := s.Get(ctx, "d/a"); kind.Of(err) != kind.NotFound {
		t.Fatalf("Get after DeleteIf: %v, want NotFound", err)
	}
	if err := store.DeleteIf(ctx, s, "d/a", newGen); err != nil {
		t.Fatalf("DeleteIf of a missing object: %v", err)
	}
	if err := store.DeleteIf(ctx, s, "d//a", newGen); kind.Of(err) != kind.Invalid {
		t.Fatalf("DeleteIf of a bad key: %v, want Invalid", err)
	}
}

// concat concatenates byte slices.
func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Compose composes through the wrapped store unless this write is to
// fail: a compose counts as one write, as for Put.
func (f *Faulty) Compose(ctx context.Context, dst string, gen int64, srcs []store.Source) (int64, error) {
	defer f.signal() // for Await
	fail, after, err := f.before(ctx)
	switch {
	case err != nil:
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	case !fail:
		return store.Compose(ctx, f.Store, dst, gen, srcs)
	case after:
		if _, err := store.Compose(ctx, f.Store, dst, gen, srcs); err != nil {
			return 0, err
		}
	}
	return 0, injected("compose", dst)
}

// DeleteIf deletes through unless this write is to fail.
func (f *Faulty) DeleteIf(ctx context.Context, key string, gen int64) error {
	defer f.signal() // for Await
	fail, after, err := f.before(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("delete %s: %w", key, err)
	case !fail:
		return store.DeleteIf(ctx, f.Store, key, gen)
	case after:
		if err := store.DeleteIf(ctx, f.Store, key, gen); err != nil {
			return err
		}
	}
	return injected("delete", key)
}

var _ store.Composer = (*Faulty)(nil)

// StrictFakeGCSStore is FakeGCSStore on a fake GCS server that honours
// the generation preconditions of compose requests (on the destination
// and on each source) and answers a compose of a missing source with 404,
// as GCS does; fake-gcs-server itself ignores those preconditions. It
// serialises the server's writes to make each check and its write one
// step. Compose tests and tests of servers racing to compact use it.
func StrictFakeGCSStore(t testing.TB) *store.GCS {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", NoListener: true})
	if err != nil {
		t.Fatalf("fake GCS server: %v", err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: FakeGCSBucket})
	ts := httptest.NewServer(&strictGCS{srv: srv})
	t.Cleanup(ts.Close)
	s, err := store.NewGCS(context.Background(), "gs://"+FakeGCSBucket+"/tbhost",
		option.WithEndpoint(ts.URL+"/storage/v1/"), option.WithoutAuthentication(), storage.WithJSONReads())
	if err != nil {
		t.Fatalf("NewGCS: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// strictGCS checks compose preconditions in front of a fake GCS server.
type strictGCS struct {
	srv *fakestorage.Server
	mu  sync.Mutex // held by writes
}

func (h *strictGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		h.srv.HTTPHandler().ServeHTTP(w, r)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/compose") {
		if status, msg := h.checkCompose(r); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg}})
			return
		}
	}
	h.srv.HTTPHandler().ServeHTTP(w, r)
}

// checkCompose returns the status GCS would answer a compose request with
// when a precondition fails or a source is missing (0: none); it leaves
// the request's body for the fake to read.
func (h *strictGCS) checkCompose(r *http.Request) (int, string) {
	// /storage/v1/b/<bucket>/o/<object>/compose
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(segs) != 7 || segs[2] != "b" || segs[4] != "o" {
		return http.StatusBadRequest, "unexpected compose path " + r.URL.Path
	}
	bucket, err1 := url.PathUnescape(segs[3])
	dst, err2 := url.PathUnescape(segs[5])
	body, err3 := io.ReadAll(r.Body)
	if err := errors.Join(err1, err2, err3); err != nil {
		return http.StatusBadRequest, err.Error()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		SourceObjects []struct {
			Name                string
			ObjectPreconditions *struct {
				IfGenerationMatch string
			}
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, err.Error()
	}
	gen := func(name string) int64 {
		o, err := h.srv.GetObject(bucket, name)
		if err != nil {
			return 0
		}
		return o.Generation
	}
	if want := r.URL.Query().Get("ifGenerationMatch"); want != "" && want != strconv.FormatInt(gen(dst), 10) {
		return http.StatusPreconditionFailed, "destination " + dst + " is not at generation " + want
	}
	for _, src := range req.SourceObjects {
		g := gen(src.Name)
		if g == 0 {
			return http.StatusNotFound, "no such source object " + src.Name
		}
		if p := src.ObjectPreconditions; p != nil && p.IfGenerationMatch != "" && p.IfGenerationMatch != strconv.FormatInt(g, 10) {
			return http.StatusPreconditionFailed, "source " + src.Name + " is not at generation " + p.IfGenerationMatch
		}
	}
	return 0, ""
}
