package store

import (
	"context"
	"io"
)

// A Store keeps objects under slash-separated keys. Objects are written
// whole (GCS objects are immutable) and read whole or by range. The store is
// the only state a server has: two servers on one store serve the same
// boards.
//
// Implementations: NewDir (a local directory, the default), NewGCS
// (Google Cloud Storage) and NewMem (tests). All of them pass
// storetest.Run.
type Store interface {
	// Put writes the object at key, replacing any object there. It does
	// not keep data after it returns (callers reuse it).
	Put(ctx context.Context, key string, data []byte) error
	// PutIf writes the object at key only if its current generation is
	// gen (0: the object must not exist). It returns the new generation,
	// or an error of kind Conflict when the precondition fails.
	PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error)
	// Get returns the object and its generation; an error of kind NotFound
	// when there is none.
	Get(ctx context.Context, key string) ([]byte, int64, error)
	// Open streams the object from offset off (0 for the whole object).
	Open(ctx context.Context, key string, off int64) (io.ReadCloser, error)
	// List returns the objects whose keys start with prefix and are not
	// below start ("" for all), sorted by key.
	List(ctx context.Context, prefix, start string) ([]ObjectInfo, error)
	// Children returns the distinct segments that follow prefix, which
	// ends in "/", in the keys below it, sorted: the objects and the
	// "folders" directly under prefix. A run's replay finds its files so,
	// without listing every part of every file.
	Children(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable (for /readyz).
	Ping(ctx context.Context) error
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// Gen is the object's generation as Get would report it, for
	// conditional writes and deletes of listed objects (Composer).
	Gen int64
}
