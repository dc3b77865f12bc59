package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
)

func TestStoreMem(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMem() })
}

func newDirStore(t testing.TB, dir string) *store.Dir {
	t.Helper()
	s, err := store.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreDir(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newDirStore(t, t.TempDir()) })
}

func TestStoreGCS(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.FakeGCSStore(t) })
}

func TestStoreFaultyPassThrough(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return storetest.NewFaulty(store.NewMem(), 0)
	})
}

// The files of a Dir are the objects' bytes at their keys' paths, and
// List shows no temporary files.
func TestStoreDirLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newDirStore(t, dir)
	key := "boards/b/raw/lr=0.1, bs=32/train/events.out.tfevents.1/00000000000000000000"
	if err := s.Put(ctx, key, []byte("bytes")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil || string(got) != "bytes" {
		t.Fatalf("file: %q, %v", got, err)
	}
	// Leftovers of a crash between create and rename.
	for _, name := range []string{".tbhost-tmp-123", "boards/b/.tbhost-tmp-456", "boards/.tbhost-tmp-dir/x"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := s.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != key {
		t.Fatalf("List = %v, want only %s", infos, key)
	}
	// No temporary files are left behind by writes.
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tbhost-tmp-") && !strings.Contains(p, "123") &&
			!strings.Contains(p, "456") && !strings.Contains(p, "tmp-dir") {
			names = append(names, p)
		}
		return nil
	})
	if len(names) > 0 {
		t.Fatalf("temporary files left: %q", names)
	}
	// Delete removes the folders it empties, not the root.
	for _, name := range []string{".tbhost-tmp-123", "boards/b/.tbhost-tmp-456", "boards/.tbhost-tmp-dir"} {
		os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name)))
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("root after Delete: %v, %v", entries, err)
	}
}

// Objects and generations survive reopening the directory, and new
// generations stay ahead of old ones.
func TestStoreDirReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := newDirStore(t, dir)
	g1, err := s1.PutIf(ctx, "d.pb", []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	s2 := newDirStore(t, dir)
	data, g, err := s2.Get(ctx, "d.pb")
	if err != nil || string(data) != "one" || g != g1 {
		t.Fatalf("Get after reopen = %q, %d, %v; want one, %d", data, g, err, g1)
	}
	g2, err := s2.PutIf(ctx, "d.pb", []byte("two"), g1)
	if err != nil {
		t.Fatal(err)
	}
	if g2 <= g1 {
		t.Fatalf("generation went from %d to %d", g1, g2)
	}
	// Both stores on one directory share the per-key locks.
	if _, err := s1.PutIf(ctx, "d.pb", []byte("three"), g1); kind.Of(err) != kind.Conflict {
		t.Fatalf("stale PutIf through the first store: %v", err)
	}
	// A file touched behind the store's back has a new generation.
	p := filepath.Join(dir, "d.pb")
	if err := os.Chtimes(p, time.Time{}, time.Unix(0, g2+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.PutIf(ctx, "d.pb", []byte("three"), g2); kind.Of(err) != kind.Conflict {
		t.Fatalf("PutIf after an outside change: %v", err)
	}
	// A generation in the future (a clock set back) still moves forward.
	future := time.Now().Add(time.Hour).UnixNano()
	if err := os.Chtimes(p, time.Time{}, time.Unix(0, future)); err != nil {
		t.Fatal(err)
	}
	g3, err := s1.PutIf(ctx, "d.pb", []byte("three"), future)
	if err != nil {
		t.Fatal(err)
	}
	if g3 <= future {
		t.Fatalf("generation %d not above %d", g3, future)
	}
}

// A key cannot be both an object and a folder in a directory.
func TestStoreDirObjectAndFolder(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t, t.TempDir())
	if err := s.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	err := s.Put(ctx, "a/b/c", []byte("y"))
	if kind.Of(err) != kind.Conflict {
		t.Fatalf("Put under an object: %v, want a Conflict", err)
	}
	err = s.Put(ctx, "a", []byte("y"))
	if kind.Of(err) != kind.Conflict {
		t.Fatalf("Put over a folder: %v, want a Conflict", err)
	}
}

// Ping fails once the directory is gone (as when a volume is unmounted);
// this holds for root too, unlike a read-only directory.
func TestStoreDirPing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := newDirStore(t, dir)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on a fresh directory: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); kind.Of(err) != kind.Unavailable {
		t.Fatalf("Ping where the directory became a file: %v", err)
	}
}

func TestStoreDirNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.NewDir(f); err == nil {
		t.Fatal("NewDir on a file: no error")
	}
}

// Concurrent writers and deleters in sibling folders: Delete's removal of
// empty folders must not break a Put creating one.
func TestStoreDirConcurrentDeletes(t *testing.T) {
	ctx := context.Background()
	s := newDirStore(t, t.TempDir())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				key := "boards/b/raw/r" + string(rune('a'+w%2)) + "/f/" + string(rune('0'+i%10))
				if err := s.Put(ctx, key, []byte("x")); err != nil {
					t.Error(err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if infos, err := s.List(ctx, "", ""); err != nil || len(infos) != 0 {
		t.Fatalf("List = %v, %v", infos, err)
	}
}

func TestStoreGCSURL(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"", "s3://b/p", "gs://", "gs:///p", "gs://b/../p", "/tmp/x"} {
		if _, err := store.NewGCS(ctx, bad, option.WithoutAuthentication()); err == nil {
			t.Errorf("NewGCS(%q): no error", bad)
		}
	}
	for url, want := range map[string]string{
		"gs://b":       "gs://b/",
		"gs://b/":      "gs://b/",
		"gs://b/p":     "gs://b/p/",
		"gs://b/p/q/":  "gs://b/p/q/",
		"gs://b//p//q": "",
	} {
		s, err := store.NewGCS(ctx, url, option.WithoutAuthentication())
		if want == "" {
			if err == nil {
				t.Errorf("NewGCS(%q): no error", url)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewGCS(%q): %v", url, err)
			continue
		}
		if got := s.String(); got != want {
			t.Errorf("NewGCS(%q) = %s, want %s", url, got, want)
		}
		s.Close()
	}
}

// Stores on two prefixes of one bucket do not see each other's objects,
// and STORAGE_EMULATOR_HOST alone reaches the emulator.
func TestStoreGCSPrefixAndEmulatorHost(t *testing.T) {
	ctx := context.Background()
	url, opts, srv := storetest.NewFakeGCSServer(t)
	a, err := store.NewGCS(ctx, url+"/a", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.NewGCS(ctx, url+"/ab", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Put(ctx, "k", []byte("in a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", []byte("in ab")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*store.GCS{a, b} {
		infos, err := s.List(ctx, "", "")
		if err != nil || len(infos) != 1 || infos[0].Key != "k" {
			t.Fatalf("%s: List = %v, %v", s, infos, err)
		}
	}
	data, _, err := a.Get(ctx, "k")
	if err != nil || string(data) != "in a" {
		t.Fatalf("Get = %q, %v", data, err)
	}

	host := strings.TrimPrefix(srv.URL(), "http://")
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	e, err := store.NewGCS(ctx, url+"/a")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	data, _, err = e.Get(ctx, "k")
	if err != nil || string(data) != "in a" {
		t.Fatalf("Get through STORAGE_EMULATOR_HOST = %q, %v", data, err)
	}
	r, err := e.Open(ctx, "k", 4)
	if err != nil {
		t.Fatalf("Open at the end through STORAGE_EMULATOR_HOST: %v", err)
	}
	r.Close()
	if err := e.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStoreGCSPingMissingBucket(t *testing.T) {
	ctx := context.Background()
	_, opts := storetest.NewFakeGCS(t)
	s, err := store.NewGCS(ctx, "gs://no-such-bucket/p", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); kind.Of(err) != kind.Unavailable {
		t.Fatalf("Ping of a missing bucket: %v", err)
	}
}

func TestStoreFaulty(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMem()
	f := storetest.NewFaulty(mem, 2)
	if err := f.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, "b", []byte("2")); !errors.Is(err, storetest.ErrInjected) {
		t.Fatalf("second write: %v", err)
	}
	if _, _, err := mem.Get(ctx, "b"); kind.Of(err) != kind.NotFound {
		t.Fatalf("failed write reached the store: %v", err)
	}
	if _, err := f.PutIf(ctx, "c", []byte("3"), 0); err != nil {
		t.Fatal(err)
	}
	if f.Writes() != 3 || f.Failed() != 1 {
		t.Fatalf("writes %d failed %d", f.Writes(), f.Failed())
	}

	// Sticky: every write from the 5th on fails; reads still work.
	f.SetFailAt(5, true)
	if err := f.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{f.Delete(ctx, "c"), f.Put(ctx, "d", nil)} {
		if !errors.Is(err, storetest.ErrInjected) {
			t.Fatalf("sticky failure: %v", err)
		}
	}
	if _, _, err := f.Get(ctx, "c"); err != nil {
		t.Fatal(err)
	}

	// After: the write lands, the caller sees an error.
	f.SetFailAt(7, false)
	f.SetAfter(true)
	if _, err := f.PutIf(ctx, "e", []byte("5"), 0); !errors.Is(err, storetest.ErrInjected) {
		t.Fatalf("after-failure: %v", err)
	}
	if _, _, err := mem.Get(ctx, "e"); err != nil {
		t.Fatalf("after-failure write did not land: %v", err)
	}

	// Stall: a write waits, and gives up with its context.
	f.SetStall(time.Hour)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := f.Put(cctx, "f", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled write: %v", err)
	}
	f.SetStall(0)
	keys := []string{}
	infos, _ := mem.List(ctx, "", "")
	for _, o := range infos {
		keys = append(keys, o.Key)
	}
	if want := []string{"c", "e"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
}

// TestStoreFaultyAwait: Await returns once a write from another goroutine
// makes its condition hold, and fails the test when none does in time.
func TestStoreFaultyAwait(t *testing.T) {
	ctx := context.Background()
	f := storetest.NewFaulty(store.NewMem(), 0)
	has := func(key string) func() bool {
		return func() bool { _, _, err := f.Get(ctx, key); return err == nil }
	}
	wrote := make(chan error, 1)
	go func() { wrote <- f.Put(ctx, "late", []byte("x")) }()
	f.Await(t, time.Minute, "the late write", has("late"))
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// A condition no write makes true: Await fails its test.
	var inner fakeTB
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Await(&inner, 10*time.Millisecond, "a write that never comes", has("never"))
	}()
	<-done
	if !strings.Contains(inner.fatal, "a write that never comes") {
		t.Errorf("Await without the write: %q, want a failure naming what it waited for", inner.fatal)
	}
}

// fakeTB records a Fatalf and ends its goroutine, as testing.T does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
