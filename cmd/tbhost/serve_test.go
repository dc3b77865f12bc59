package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
)

// TestServeShutdownWritesCheckpoints runs `tbhost serve` on a data
// directory, uploads to it with `tbhost upload`, and stops the server as
// SIGTERM does: the stored digests then count every uploaded byte, so
// that the next start has nothing to replay.
func TestServeShutdownWritesCheckpoints(t *testing.T) {
	for _, c := range corpora {
		t.Run(c.name, func(t *testing.T) { testServeShutdown(t, c.dir(t)) })
	}
}

func testServeShutdown(t *testing.T, dir string) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addr := make(chan string, 1)
	done := make(chan result, 1)
	mc := newMachine(t)
	go func() {
		var out, errb syncBuffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return mc.env[k] }, Listening: func(a string) { addr <- a }}
		err := m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--flush-interval", "1h", "--log-format", "text"})
		done <- result{out.String(), errb.String(), err}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case r := <-done:
		t.Fatalf("serve ended before listening: %v\n%s", r.err, r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30 s")
	}
	id := boardID(t, mc.must("upload", dir, "--server", base, "--chunk-size", "2000").lastLine())
	var want int64
	for _, b := range localFiles(t, dir) {
		want += int64(len(b))
	}
	store, err := store.NewDir(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := storetest.Checkpointed(t, store, id); got >= want {
		t.Fatalf("before shutdown the digests count %d of %d bytes: the checkpoints are not lagging, the test tests nothing", got, want)
	}
	stop() // as SIGTERM
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("serve: %v\n%s", r.err, r.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within 60 s")
	}
	if got := storetest.Checkpointed(t, store, id); got != want {
		t.Errorf("after shutdown the digests count %d of %d bytes", got, want)
	}
}
