package storetest

import (
	"context"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"tbhost/hosting/store"
)

// FakeGCSBucket is the bucket NewFakeGCS creates.
const FakeGCSBucket = "tbhost-test"

// NewFakeGCS starts an in-process fake GCS server (fake-gcs-server over
// HTTP on a loopback port, stopped when t ends), creates the bucket
// FakeGCSBucket, and returns a store URL in it (gs://tbhost-test/tbhost)
// with the client options that reach the server:
//
//	url, opts := storetest.NewFakeGCS(t)
//	store, err := store.NewGCS(ctx, url, opts...)
//
// The server holds objects in memory; each call starts a new one. Its base
// URL (for STORAGE_EMULATOR_HOST, minus the scheme) is in the endpoint
// option: http://127.0.0.1:PORT/storage/v1/.
func NewFakeGCS(t testing.TB) (url string, opts []option.ClientOption) {
	t.Helper()
	url, opts, _ = startFakeGCS(t)
	return url, opts
}

// NewFakeGCSServer is NewFakeGCS that also returns the server, for tests
// that inspect or change the fake's state behind the store's back.
func NewFakeGCSServer(t testing.TB) (url string, opts []option.ClientOption, srv *fakestorage.Server) {
	t.Helper()
	return startFakeGCS(t)
}

func startFakeGCS(t testing.TB) (string, []option.ClientOption, *fakestorage.Server) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http",
		Host:   "127.0.0.1",
		// Port 0: httptest picks a free loopback port. Resumable upload
		// URLs are built from each request's Host, so no PublicHost
		// with the port is needed; "127.0.0.1" (any port) also makes
		// XML reads work, for clients without WithJSONReads.
		PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("fake GCS server: %v", err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: FakeGCSBucket})
	opts := []option.ClientOption{
		option.WithEndpoint(srv.URL() + "/storage/v1/"),
		option.WithoutAuthentication(),
		storage.WithJSONReads(),
	}
	return "gs://" + FakeGCSBucket + "/tbhost", opts, srv
}

// FakeGCSStore returns a GCS on a new fake GCS server (see
// NewFakeGCS), closed when t ends.
func FakeGCSStore(t testing.TB) *store.GCS {
	t.Helper()
	url, opts := NewFakeGCS(t)
	s, err := store.NewGCS(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("NewGCS(%s): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
