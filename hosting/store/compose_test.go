package store_test

import (
	"testing"

	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
)

func TestComposeMem(t *testing.T) {
	storetest.RunCompose(t, func(t *testing.T) store.Store { return store.NewMem() })
}

func TestComposeDir(t *testing.T) {
	storetest.RunCompose(t, func(t *testing.T) store.Store { return newDirStore(t, t.TempDir()) })
}

func TestComposeGCS(t *testing.T) {
	storetest.RunCompose(t, func(t *testing.T) store.Store { return storetest.StrictFakeGCSStore(t) })
}

// The fallback (read the sources, PutIf) serves a store that is no
// Composer, and a Faulty passes composes through.
func TestComposeFallback(t *testing.T) {
	storetest.RunCompose(t, func(t *testing.T) store.Store { return plainStore{store.NewMem()} })
}

func TestComposeFaultyPassThrough(t *testing.T) {
	storetest.RunCompose(t, func(t *testing.T) store.Store { return storetest.NewFaulty(newDirStore(t, t.TempDir()), 0) })
}

// plainStore hides its store's Compose and DeleteIf.
type plainStore struct{ store.Store }
