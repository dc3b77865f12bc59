// Package storetest is the conformance suite every store.Store passes,
// plus helpers for tests that use stores: an in-process fake GCS server
// (NewFakeGCS, FakeGCSStore), a fault-injecting wrapper (Faulty), and
// readers of what a board has in a store (Digests, Checkpointed).
//
// The contract it checks, beyond the Store interface's comments:
//
//   - Generations are non-zero, and change on every write of a key
//     (Put, PutIf, or a re-create after Delete).
//   - Get returns a copy the caller may modify; Put copies its input.
//   - Open at an offset equal to the size gives an empty stream; an offset
//     beyond the size, or negative, is an error of kind Invalid.
//   - List matches by string prefix ("boards/a" matches "boards/ab/x";
//     "boards/a/" does not), leaves out keys below the start key, and
//     sorts by key as Go strings compare.
//   - Keys are "/"-separated, non-empty segments; "", "/a", "a//b", "a/",
//     "." or ".." segments, NUL and control characters are errors of kind
//     Invalid. Spaces, "=", ",", quotes and any Unicode are fine.
//   - A context cancelled before a call makes it fail with an error
//     wrapping context.Canceled, and a write then leaves nothing behind; a
//     stream from Open fails once its context is cancelled.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// Run runs the conformance suite against stores made by newStore, which
// must return a new, empty store for each call (each subtest gets its own).
// Subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"GetMissing", testGetMissing},
		{"PutIfCreate", testPutIfCreate},
		{"PutIfGeneration", testPutIfGeneration},
		{"Open", testOpen},
		{"List", testList},
		{"Children", testChildren},
		{"Delete", testDelete},
		{"Keys", testKeys},
		{"InvalidKeys", testInvalidKeys},
		{"ConcurrentPutIf", testConcurrentPutIf},
		{"ConcurrentIncrement", testConcurrentIncrement},
		{"Large", testLarge},
		{"ContextCancelled", testContextCancelled},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// wantKind fails t unless err is of kind k.
func wantKind(t testing.TB, what string, err error, k kind.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want kind %v", what, k)
	}
	if got := kind.Of(err); got != k {
		t.Fatalf("%s: error %q of kind %v, want kind %v", what, err, got, k)
	}
}

func put(t testing.TB, s store.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t testing.TB, s store.Store, key string) ([]byte, int64) {
	t.Helper()
	data, gen, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if gen == 0 {
		t.Fatalf("Get(%q): generation 0", key)
	}
	return data, gen
}

func wantData(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		if len(got) < 100 && len(want) < 100 {
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: got %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
	}
}

func readAll(t testing.TB, s store.Store, key string, off int64) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key, off)
	if err != nil {
		t.Fatalf("Open(%q, %d): %v", key, off, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("Open(%q, %d): read: %v", key, off, err)
	}
	return data
}

func list(t testing.TB, s store.Store, prefix string) []store.ObjectInfo {
	t.Helper()
	return listFrom(t, s, prefix, "")
}

func listFrom(t testing.TB, s store.Store, prefix, start string) []store.ObjectInfo {
	t.Helper()
	infos, err := s.List(context.Background(), prefix, start)
	if err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, start, err)
	}
	return infos
}

func keysOf(infos []store.ObjectInfo) []string {
	keys := make([]string, 0, len(infos))
	for _, o := range infos {
		keys = append(keys, o.Key)
	}
	return keys
}

// randomBytes returns n pseudo-random bytes from seed.
func randomBytes(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func testRoundTrip(t *testing.T, s store.Store) {
	data := []byte("hello, store")
	put(t, s, "boards/x/board.json", data)
	got, _ := get(t, s, "boards/x/board.json")
	wantData(t, "Get", got, data)

	// Get returns a copy; Put copied its input.
	got[0] = 'J'
	data[1] = 'E'
	again, _ := get(t, s, "boards/x/board.json")
	wantData(t, "Get after modifying buffers", again, []byte("hello, store"))

	// Empty objects exist.
	put(t, s, "empty", nil)
	got, _ = get(t, s, "empty")
	wantData(t, "Get empty", got, nil)
	if infos := list(t, s, "empty"); len(infos) != 1 || infos[0].Size != 0 {
		t.Fatalf("List(empty) = %v, want one object of size 0", infos)
	}

	// Binary data survives.
	bin := randomBytes(4099, 1)
	put(t, s, "bin", bin)
	got, _ = get(t, s, "bin")
	wantData(t, "Get binary", got, bin)
}

func testOverwrite(t *testing.T, s store.Store) {
	put(t, s, "k", []byte("first, and longer"))
	_, g1 := get(t, s, "k")
	put(t, s, "k", []byte("second"))
	got, g2 := get(t, s, "k")
	wantData(t, "Get after overwrite", got, []byte("second"))
	if g2 == g1 {
		t.Fatalf("generation unchanged by overwrite: %d", g1)
	}
	put(t, s, "k", []byte("second"))
	if _, g3 := get(t, s, "k"); g3 == g2 {
		t.Fatalf("generation unchanged by rewriting the same bytes: %d", g2)
	}
	if infos := list(t, s, ""); len(infos) != 1 || infos[0].Size != int64(len("second")) {
		t.Fatalf("List = %v, want [k 6]", infos)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, _, err := s.Get(ctx, "boards/nope/board.json")
	wantKind(t, "Get missing", err, kind.NotFound)
	_, err = s.Open(ctx, "boards/nope/board.json", 0)
	wantKind(t, "Open missing", err, kind.NotFound)
	_, err = s.Open(ctx, "boards/nope/board.json", 10)
	wantKind(t, "Open missing at 10", err, kind.NotFound)

	// A key that is a folder of other keys is not an object.
	put(t, s, "dir/obj", []byte("x"))
	_, _, err = s.Get(ctx, "dir")
	wantKind(t, "Get folder", err, kind.NotFound)
	_, _, err = s.Get(ctx, "dir/obj/below")
	wantKind(t, "Get below an object", err, kind.NotFound)
	_, _, err = s.Get(ctx, "di")
	wantKind(t, "Get key prefix", err, kind.NotFound)
}

func testPutIfCreate(t *testing.T, s store.Store) {
	ctx := context.Background()
	g1, err := s.PutIf(ctx, "d.pb", []byte("one"), 0)
	if err != nil {
		t.Fatalf("PutIf create: %v", err)
	}
	if g1 == 0 {
		t.Fatal("PutIf create returned generation 0")
	}
	_, err = s.PutIf(ctx, "d.pb", []byte("two"), 0)
	wantKind(t, "PutIf create over an existing object", err, kind.Conflict)
	got, g := get(t, s, "d.pb")
	wantData(t, "Get after conflict", got, []byte("one"))
	if g != g1 {
		t.Fatalf("Get generation %d, PutIf returned %d", g, g1)
	}

	// Create-only over an object written by Put conflicts too.
	put(t, s, "p", []byte("x"))
	_, err = s.PutIf(ctx, "p", []byte("y"), 0)
	wantKind(t, "PutIf create over Put", err, kind.Conflict)
}

func testPutIfGeneration(t *testing.T, s store.Store) {
	ctx := context.Background()
	g1, err := s.PutIf(ctx, "d.pb", []byte("v1"), 0)
	if err != nil {
		t.Fatalf("PutIf create: %v", err)
	}
	g2, err := s.PutIf(ctx, "d.pb", []byte("v2"), g1)
	if err != nil {
		t.Fatalf("PutIf with the right generation: %v", err)
	}
	if g2 == g1 || g2 == 0 {
		t.Fatalf("PutIf returned generation %d after %d", g2, g1)
	}
	_, err = s.PutIf(ctx, "d.pb", []byte("stale"), g1)
	wantKind(t, "PutIf with a stale generation", err, kind.Conflict)
	_, err = s.PutIf(ctx, "d.pb", []byte("bogus"), g2+12345)
	wantKind(t, "PutIf with a bogus generation", err, kind.Conflict)
	got, g := get(t, s, "d.pb")
	wantData(t, "Get", got, []byte("v2"))
	if g != g2 {
		t.Fatalf("Get generation %d, PutIf returned %d", g, g2)
	}

	// A non-zero generation on a missing object conflicts.
	_, err = s.PutIf(ctx, "missing", []byte("x"), g2)
	wantKind(t, "PutIf missing object with a generation", err, kind.Conflict)
	if _, _, err := s.Get(ctx, "missing"); kind.Of(err) != kind.NotFound {
		t.Fatalf("failed PutIf created the object (Get: %v)", err)
	}

	// Put moves the generation on.
	put(t, s, "d.pb", []byte("v3"))
	_, g3 := get(t, s, "d.pb")
	_, err = s.PutIf(ctx, "d.pb", []byte("v4"), g2)
	wantKind(t, "PutIf after Put with the old generation", err, kind.Conflict)
	if _, err := s.PutIf(ctx, "d.pb", []byte("v4"), g3); err != nil {
		t.Fatalf("PutIf after Put with Get's generation: %v", err)
	}

	// Delete and re-create: old generations stay stale.
	_, g4 := get(t, s, "d.pb")
	if err := s.Delete(ctx, "d.pb"); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutIf(ctx, "d.pb", []byte("v5"), g4)
	wantKind(t, "PutIf on a deleted object", err, kind.Conflict)
	g5, err := s.PutIf(ctx, "d.pb", []byte("v5"), 0)
	if err != nil {
		t.Fatalf("PutIf re-create: %v", err)
	}
	for _, old := range []int64{g1, g2, g3, g4} {
		if g5 == old {
			t.Fatalf("re-created object reuses generation %d", old)
		}
	}
}

func testOpen(t *testing.T, s store.Store) {
	ctx := context.Background()
	data := randomBytes(1000, 2)
	put(t, s, "raw/run/file/00000000000000000000", data)
	key := "raw/run/file/00000000000000000000"
	for _, off := range []int64{0, 1, 500, 999, 1000} {
		wantData(t, fmt.Sprintf("Open at %d", off), readAll(t, s, key, off), data[off:])
	}
	for _, off := range []int64{1001, 5000, -1} {
		r, err := s.Open(ctx, key, off)
		if err == nil {
			r.Close()
		}
		wantKind(t, fmt.Sprintf("Open at %d of 1000", off), err, kind.Invalid)
	}
	put(t, s, "empty", nil)
	wantData(t, "Open empty at 0", readAll(t, s, "empty", 0), nil)
	_, err := s.Open(ctx, "empty", 1)
	wantKind(t, "Open empty at 1", err, kind.Invalid)

	// Reading in small pieces gives the same bytes.
	r, err := s.Open(ctx, key, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	p := make([]byte, 7)
	for {
		n, err := r.Read(p)
		buf.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wantData(t, "Open read in 7-byte pieces", buf.Bytes(), data[10:])
}

// Children lists the segments directly under a prefix: objects and
// folders alike, each once, sorted; folders emptied by deletes are gone.
func testChildren(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, k := range []string{
		"boards/a/raw/run one/f1/000", "boards/a/raw/run one/f1/100", "boards/a/raw/run one/f2/000",
		"boards/a/raw/run=2/f1/000", "boards/a/raw/gone/f/000", "boards/a/raw/x.json", "boards/ab/raw/r/f/000",
	} {
		put(t, s, k, []byte("x"))
	}
	if err := s.Delete(ctx, "boards/a/raw/gone/f/000"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"boards/a/raw/", []string{"run one", "run=2", "x.json"}},
		{"boards/a/raw/run one/", []string{"f1", "f2"}},
		{"boards/a/raw/run one/f1/", []string{"000", "100"}},
		{"boards/a/raw/none/", nil},
		{"boards/a/raw/x.json/", nil},
	}
	for _, tt := range tests {
		got, err := s.Children(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("Children(%q): %v", tt.prefix, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Children(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
	_, err := s.Children(ctx, "boards/a/raw")
	wantKind(t, `Children("boards/a/raw")`, err, kind.Invalid)
}

func testList(t *testing.T, s store.Store) {
	objects := map[string]int{
		"boards/a/board.json":       3,
		"boards/a/raw/r/f/000":      5,
		"boards/a/digest/x.pb":      7,
		"boards/ab/board.json":      11,
		"boards/a-b/board.json":     13,
		"boards/a.b/board.json":     17,
		"boards/a0":                 19,
		"boards/b/board.json":       23,
		"boardsX":                   29,
		"other/boards/a/board.json": 31,
	}
	for k, n := range objects {
		put(t, s, k, randomBytes(n, uint64(n)))
	}
	check := func(prefix string, want ...string) {
		t.Helper()
		infos := list(t, s, prefix)
		if got := keysOf(infos); !slices.Equal(got, want) {
			t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
		}
		for _, o := range infos {
			if o.Size != int64(objects[o.Key]) {
				t.Fatalf("List(%q): %s has size %d, want %d", prefix, o.Key, o.Size, objects[o.Key])
			}
		}
	}
	check("boards/a/", "boards/a/board.json", "boards/a/digest/x.pb", "boards/a/raw/r/f/000")
	// A prefix is a string prefix, not a folder: "boards/a" matches its
	// siblings "boards/ab", "boards/a-b"... Sorting is by string ('-' < '.'
	// < '/' < '0'), not folder by folder.
	check("boards/a",
		"boards/a-b/board.json", "boards/a.b/board.json",
		"boards/a/board.json", "boards/a/digest/x.pb", "boards/a/raw/r/f/000",
		"boards/a0", "boards/ab/board.json")
	check("boards/a/raw/r/f/", "boards/a/raw/r/f/000")
	check("boards/a/raw/r/f/0", "boards/a/raw/r/f/000")
	check("boards/a/raw/r/f/000", "boards/a/raw/r/f/000")
	check("boards/a/raw/r/f/0000")
	check("boards/a/board.json", "boards/a/board.json")
	check("boards/a/board.json/")
	check("boards/b", "boards/b/board.json")
	check("boards/c")
	check("boards/c/")
	check("nothing/here/")
	check("boardsX", "boardsX")
	all := make([]string, 0, len(objects))
	for k := range objects {
		all = append(all, k)
	}
	slices.Sort(all)
	check("", all...)

	// From a start key on: keys below it are left out, the start itself
	// is in.
	from := func(prefix, start string, want ...string) {
		t.Helper()
		if got := keysOf(listFrom(t, s, prefix, start)); !slices.Equal(got, want) {
			t.Fatalf("List(%q, %q) = %q, want %q", prefix, start, got, want)
		}
	}
	from("boards/a/", "boards/a/digest/x.pb", "boards/a/digest/x.pb", "boards/a/raw/r/f/000")
	from("boards/a/", "boards/a/digest/y", "boards/a/raw/r/f/000")
	from("boards/a/", "boards/a/zzz")
	from("boards/a/", "a", "boards/a/board.json", "boards/a/digest/x.pb", "boards/a/raw/r/f/000")
	from("boards/", "boards/a0", "boards/a0", "boards/ab/board.json", "boards/b/board.json")

	_, err := s.List(context.Background(), "boards/../", "")
	wantKind(t, "List with ..", err, kind.Invalid)
	_, err = s.List(context.Background(), "/boards", "")
	wantKind(t, "List absolute", err, kind.Invalid)
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "d/x/y", []byte("1"))
	put(t, s, "d/x/z", []byte("2"))
	put(t, s, "d/w", []byte("3"))
	if err := s.Delete(ctx, "d/x/y"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, _, err := s.Get(ctx, "d/x/y")
	wantKind(t, "Get deleted", err, kind.NotFound)
	if got := keysOf(list(t, s, "d/")); !slices.Equal(got, []string{"d/w", "d/x/z"}) {
		t.Fatalf("List after Delete = %q", got)
	}
	for _, k := range []string{"d/x/y", "d/x/y", "never/was", "d/x", "d"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q) of a missing object: %v", k, err)
		}
	}
	// Deleting a folder-like key deleted nothing.
	if got := keysOf(list(t, s, "d/")); !slices.Equal(got, []string{"d/w", "d/x/z"}) {
		t.Fatalf("List after deleting folders = %q", got)
	}
	for _, k := range []string{"d/x/z", "d/w"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := list(t, s, ""); len(got) != 0 {
		t.Fatalf("List after deleting everything = %v", got)
	}
	// Re-creating under a deleted folder works.
	put(t, s, "d/x/y", []byte("again"))
	got, _ := get(t, s, "d/x/y")
	wantData(t, "Get re-created", got, []byte("again"))
}

// Keys are made of run and file names as users write them.
var unusualKeys = []string{
	"boards/b1/raw/resnet/lr=0.1, bs=32/train/events.out.tfevents.1700000000.host.123.0/00000000000000000000",
	"boards/b1/raw/with space/and  two/x",
	"boards/b1/raw/ünïcødé/日本語/🙂",
	"boards/b1/raw/a+b%20c?d#e&f=g;h/x",
	`boards/b1/raw/quotes'and"back\slash/x`,
	"boards/b1/raw/..dots../.hidden/x.",
	"boards/b1/raw/~tilde/*star*/[brackets]/{braces}/x",
	"boards/b1/raw/-dash/x",
}

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, k := range unusualKeys {
		data := []byte(fmt.Sprintf("object %d", i))
		put(t, s, k, data)
		got, _ := get(t, s, k)
		wantData(t, fmt.Sprintf("Get(%q)", k), got, data)
		wantData(t, fmt.Sprintf("Open(%q, 3)", k), readAll(t, s, k, 3), data[3:])
	}
	want := slices.Clone(unusualKeys)
	slices.Sort(want)
	if got := keysOf(list(t, s, "boards/b1/raw/")); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if got := keysOf(list(t, s, "boards/b1/raw/resnet/lr=0.1, bs=32/")); !slices.Equal(got, unusualKeys[:1]) {
		t.Fatalf("List(run with =, space, comma) = %q", got)
	}
	for _, k := range unusualKeys {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
	}
	if got := list(t, s, ""); len(got) != 0 {
		t.Fatalf("List after deleting = %v", got)
	}
}

// InvalidKeys are rejected by every store with an error of kind Invalid.
var InvalidKeys = []string{
	"", "/", "/abs", "a//b", "a/", "a/./b", "./a", ".", "..", "a/../b", "../a", "a/..",
	"nul\x00byte", "new\nline", "tab\there", "bad utf8 \xff",
	".tbhost-tmp-x", "a/.tbhost-x/b",
	string(bytes.Repeat([]byte("x"), 256)),
	string(bytes.Repeat([]byte("abcdefgh/"), 114)) + "x",
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, k := range InvalidKeys {
		short := k
		if len(short) > 40 {
			short = short[:40] + "..."
		}
		wantKind(t, fmt.Sprintf("Put(%q)", short), s.Put(ctx, k, []byte("x")), kind.Invalid)
		_, err := s.PutIf(ctx, k, []byte("x"), 0)
		wantKind(t, fmt.Sprintf("PutIf(%q)", short), err, kind.Invalid)
		_, _, err = s.Get(ctx, k)
		wantKind(t, fmt.Sprintf("Get(%q)", short), err, kind.Invalid)
		_, err = s.Open(ctx, k, 0)
		wantKind(t, fmt.Sprintf("Open(%q)", short), err, kind.Invalid)
		wantKind(t, fmt.Sprintf("Delete(%q)", short), s.Delete(ctx, k), kind.Invalid)
	}
	if got := list(t, s, ""); len(got) != 0 {
		t.Fatalf("invalid keys left objects: %v", got)
	}
	// A long valid key (1000 bytes; the limit is 1024, including the
	// prefix of a GCS store), with segments of the longest valid length.
	long := string(bytes.Repeat([]byte("abcdefgh/"), 83)) + string(bytes.Repeat([]byte("x"), 255))
	if len(long) != 1002 {
		t.Fatalf("test bug: key of %d bytes", len(long))
	}
	put(t, s, long, []byte("x"))
	got, _ := get(t, s, long)
	wantData(t, "Get long key", got, []byte("x"))
}

// Many writers race with the same generation: exactly one wins each round.
func testConcurrentPutIf(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers, rounds = 12, 5
	gen := int64(0)
	for round := range rounds {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
			newGen  int64
		)
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				g, err := s.PutIf(ctx, "digest.pb", []byte(fmt.Sprintf("round %d writer %d", round, w)), gen)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, w)
					newGen = g
				case kind.Of(err) != kind.Conflict:
					t.Errorf("round %d writer %d: %v (kind %v)", round, w, err, kind.Of(err))
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %v, want 1", round, len(winners), winners)
		}
		got, g := get(t, s, "digest.pb")
		wantData(t, fmt.Sprintf("round %d", round), got, []byte(fmt.Sprintf("round %d writer %d", round, winners[0])))
		if g != newGen {
			t.Fatalf("round %d: Get generation %d, winner got %d", round, g, newGen)
		}
		gen = newGen
	}
}

// Read-modify-write loops with retries lose no update.
func testConcurrentIncrement(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers, each = 6, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				for attempt := 0; ; attempt++ {
					if attempt > 1000 {
						t.Errorf("worker %d: no progress", w)
						return
					}
					data, gen, err := s.Get(ctx, "counter")
					n := 0
					switch {
					case kind.Of(err) == kind.NotFound:
						gen = 0
					case err != nil:
						t.Errorf("Get: %v", err)
						return
					default:
						if _, err := fmt.Sscan(string(data), &n); err != nil {
							t.Errorf("counter %q: %v", data, err)
							return
						}
					}
					_, err = s.PutIf(ctx, "counter", []byte(fmt.Sprint(n+1)), gen)
					if err == nil {
						break
					}
					if kind.Of(err) != kind.Conflict {
						t.Errorf("PutIf: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	got, _ := get(t, s, "counter")
	if want := fmt.Sprint(workers * each); string(got) != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

// LargeSize is the size of the object testLarge writes: above the 16 MiB
// default chunk size of GCS uploads. With -short it writes 3 MiB.
const LargeSize = 20 << 20

func testLarge(t *testing.T, s store.Store) {
	ctx := context.Background()
	size := LargeSize
	if testing.Short() {
		size = 3 << 20
	}
	data := randomBytes(size, 3)
	put(t, s, "raw/big", data)
	got, _ := get(t, s, "raw/big")
	wantData(t, "Get large", got, data)
	off := int64(size/3 + 12345) // inside the object at either size, not on a chunk boundary
	wantData(t, "Open large", readAll(t, s, "raw/big", off), data[off:])
	if infos := list(t, s, "raw/"); len(infos) != 1 || infos[0].Size != int64(size) {
		t.Fatalf("List = %v, want one object of %d bytes", infos, size)
	}
	// Conditional writes of large objects (a resumable upload on GCS
	// unless a single request takes them).
	g, err := s.PutIf(ctx, "raw/big2", data, 0)
	if err != nil {
		t.Fatalf("PutIf large: %v", err)
	}
	_, err = s.PutIf(ctx, "raw/big2", data, g+1)
	wantKind(t, "PutIf large with a wrong generation", err, kind.Conflict)
	if _, err := s.PutIf(ctx, "raw/big2", []byte("small"), g); err != nil {
		t.Fatalf("PutIf small over large: %v", err)
	}
	got, _ = get(t, s, "raw/big2")
	wantData(t, "Get after PutIf", got, []byte("small"))
}

func testContextCancelled(t *testing.T, s store.Store) {
	bg := context.Background()
	put(t, s, "exists", []byte("x"))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	wantCanceled := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v, want an error wrapping context.Canceled", what, err)
		}
	}
	wantCanceled("Put", s.Put(ctx, "new", []byte("x")))
	_, err := s.PutIf(ctx, "new", []byte("x"), 0)
	wantCanceled("PutIf", err)
	_, err = s.PutIf(ctx, "new-large", randomBytes(3<<20, 5), 0)
	wantCanceled("PutIf large", err)
	_, _, err = s.Get(ctx, "exists")
	wantCanceled("Get", err)
	_, err = s.List(ctx, "", "")
	wantCanceled("List", err)
	wantCanceled("Delete", s.Delete(ctx, "exists"))
	wantCanceled("Ping", s.Ping(ctx))
	if r, err := s.Open(ctx, "exists", 0); err == nil {
		// Some stores open lazily: the read must fail.
		_, err = io.ReadAll(r)
		r.Close()
		wantCanceled("Open and read", err)
	}
	if got := keysOf(list(t, s, "")); !slices.Equal(got, []string{"exists"}) {
		t.Fatalf("cancelled calls changed the store: %q", got)
	}

	// (A stream already open may still deliver what the network has
	// buffered after its context is cancelled, so that is not asserted.)
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if got := list(t, s, ""); len(got) != 0 {
		t.Fatalf("Ping left objects: %v", got)
	}
}
