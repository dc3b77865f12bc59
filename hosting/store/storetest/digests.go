package storetest

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/hosting/store"
)

// Digests returns the run digests (checkpoints) a board has in the store.
func Digests(t testing.TB, st store.Store, board string) []*hostingpb.Digest {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, "boards/"+board+"/digest/", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []*hostingpb.Digest
	for _, o := range objs {
		raw, _, err := st.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		d := &hostingpb.Digest{}
		if err := proto.Unmarshal(raw, d); err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		out = append(out, d)
	}
	return out
}

// Checkpointed sums the raw bytes a board's stored digests count as
// parsed: the bytes a server loading the board does not replay.
func Checkpointed(t testing.TB, st store.Store, board string) int64 {
	t.Helper()
	var n int64
	for _, d := range Digests(t, st, board) {
		for _, f := range d.Files {
			n += f.Size
		}
	}
	return n
}
