package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"tbhost/hosting/kind"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// GCS is a Store in a Google Cloud Storage bucket, under an optional
// prefix. Generations are the objects' GCS generations; PutIf uses GCS
// generation preconditions, so any number of servers may share a bucket.
//
// Credentials come from the environment (Application Default Credentials)
// unless options say otherwise; STORAGE_EMULATOR_HOST points the client at
// an emulator. Reads use the JSON API.
type GCS struct {
	client *storage.Client
	bucket *storage.BucketHandle
	name   string // bucket name
	prefix string // "" or ends with "/"
}

var _ Store = (*GCS)(nil)

const (
	// gcsMaxChunk caps the bytes sent in one upload request: objects up
	// to this size go in a single request, larger ones in chunks of it.
	gcsMaxChunk = 64 << 20
	// gcsMinChunk is the granularity of upload chunks.
	gcsMinChunk = 256 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewGCS returns a store for url, of the form gs://bucket or
// gs://bucket/prefix. Options are passed to storage.NewClient after
// storage.WithJSONReads, which they may override. It does not check that
// the bucket exists: Ping does.
func NewGCS(ctx context.Context, url string, opts ...option.ClientOption) (*GCS, error) {
	bucket, prefix, err := parseGCSURL(url)
	if err != nil {
		return nil, err
	}
	client, err := storage.NewClient(ctx, append([]option.ClientOption{storage.WithJSONReads()}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("gcs store %s: %w", url, err)
	}
	return &GCS{client: client, bucket: client.Bucket(bucket), name: bucket, prefix: prefix}, nil
}

// parseGCSURL splits gs://bucket/prefix into the bucket and "" or a prefix
// ending with "/".
func parseGCSURL(url string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(url, "gs://")
	if !ok {
		return "", "", kind.Errorf(kind.Invalid, "gcs store %q: the URL must start with gs://", url)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", kind.Errorf(kind.Invalid, "gcs store %q: no bucket name", url)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := checkStoreKey("gcs store", prefix); err != nil {
			return "", "", err
		}
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Close releases the client's resources.
func (s *GCS) Close() error { return s.client.Close() }

// String returns the store's gs:// URL.
func (s *GCS) String() string { return "gs://" + s.name + "/" + s.prefix }

func (s *GCS) object(op, key string) (*storage.ObjectHandle, error) {
	if err := checkStoreKey(op, key); err != nil {
		return nil, err
	}
	if len(s.prefix)+len(key) > maxKeyBytes {
		return nil, kind.Errorf(kind.Invalid, "%s %.64s...: object name longer than %d bytes", op, key, maxKeyBytes)
	}
	return s.bucket.Object(s.prefix + key), nil
}

// gcsErr wraps an error from op on key, mapping GCS errors to kinds.
func gcsErr(op, key string, err error) error {
	if errors.Is(err, storage.ErrObjectNotExist) {
		return objectNotFound(op, key, err)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusPreconditionFailed:
			return kind.Errorf(kind.Conflict, "%s %s: generation precondition failed: %w", op, key, err)
		case http.StatusNotFound:
			return objectNotFound(op, key, err)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return kind.Errorf(kind.Unavailable, "%s %s: %w", op, key, err)
		}
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Put writes the object at key, replacing any object there.
func (s *GCS) Put(ctx context.Context, key string, data []byte) error {
	o, err := s.object("put", key)
	if err != nil {
		return err
	}
	// Rewriting the same bytes is harmless: let the client retry.
	o = o.Retryer(storage.WithPolicy(storage.RetryAlways))
	_, err = s.write(ctx, o, key, data)
	return err
}

// PutIf writes the object at key only if its current generation is gen
// (0: the object must not exist).
//
// As with any GCS precondition, if a write succeeds but its response is
// lost, the client's retry fails the precondition: the caller sees a
// Conflict for a write that landed, and must re-read.
func (s *GCS) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	o, err := s.object("put", key)
	if err != nil {
		return 0, err
	}
	if gen == 0 {
		o = o.If(storage.Conditions{DoesNotExist: true})
	} else {
		o = o.If(storage.Conditions{GenerationMatch: gen})
	}
	return s.write(ctx, o, key, data)
}

func (s *GCS) write(ctx context.Context, o *storage.ObjectHandle, key string, data []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	// Cancelling the writer's context is how an upload is abandoned.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := o.NewWriter(ctx)
	w.ChunkSize = gcsChunkSize(len(data))
	w.ContentType = "application/octet-stream"
	w.CRC32C = crc32.Checksum(data, castagnoli)
	w.SendCRC32C = true
	if _, err := w.Write(data); err != nil {
		cancel()
		w.Close()
		return 0, gcsErr("put", key, err)
	}
	if err := w.Close(); err != nil {
		return 0, gcsErr("put", key, err)
	}
	return w.Attrs().Generation, nil
}

// gcsChunkSize is the Writer.ChunkSize for an object of n bytes: large
// enough to send it in one request, up to gcsMaxChunk. (The writer
// allocates a buffer of this size, which is why it is not always the max.)
func gcsChunkSize(n int) int {
	c := (n/gcsMinChunk + 1) * gcsMinChunk // strictly above n
	return min(c, gcsMaxChunk)
}

// Get returns the object and its generation.
func (s *GCS) Get(ctx context.Context, key string) ([]byte, int64, error) {
	o, err := s.object("get", key)
	if err != nil {
		return nil, 0, err
	}
	r, err := o.NewReader(ctx)
	if err != nil {
		return nil, 0, gcsErr("get", key, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if size := r.Attrs.Size; size > 0 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, 0, gcsErr("get", key, err)
	}
	return buf.Bytes(), r.Attrs.Generation, nil
}

// Open streams the object from offset off. An offset equal to the size gives
// an empty reader; a larger one is an error of kind Invalid.
func (s *GCS) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	o, err := s.object("open", key)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, checkOffset(key, off, 0)
	}
	r, err := o.NewRangeReader(ctx, off, -1)
	if err == nil {
		return r, nil
	}
	// GCS answers 416 to a range starting at or past the end: tell the
	// end (an empty stream) from beyond it.
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusRequestedRangeNotSatisfiable {
		return nil, gcsErr("open", key, err)
	}
	attrs, aerr := o.Attrs(ctx)
	if aerr != nil {
		return nil, gcsErr("open", key, aerr)
	}
	if err := checkOffset(key, off, attrs.Size); err != nil {
		return nil, err
	}
	if off != attrs.Size {
		// Replaced by a larger object meanwhile: read that one.
		return s.Open(ctx, key, off)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *GCS) List(ctx context.Context, prefix, start string) ([]ObjectInfo, error) {
	if err := checkStorePrefix(prefix); err != nil {
		return nil, err
	}
	q := &storage.Query{Prefix: s.prefix + prefix}
	if start != "" {
		q.StartOffset = s.prefix + start // the bucket skips the keys below
	}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Generation"}); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []ObjectInfo
	it := s.bucket.Objects(ctx, q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, gcsErr("list", prefix, err)
		}
		key := strings.TrimPrefix(a.Name, s.prefix)
		if strings.HasSuffix(key, "/") {
			continue // a "folder" placeholder made by a console, not an object
		}
		out = append(out, ObjectInfo{Key: key, Size: a.Size, Gen: a.Generation})
	}
	// GCS lists in UTF-8 byte order already; make sure.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Children returns the segments directly under prefix: a listing with
// a delimiter, which the bucket answers without walking deeper keys.
func (s *GCS) Children(ctx context.Context, prefix string) ([]string, error) {
	if err := checkChildrenPrefix(prefix); err != nil {
		return nil, err
	}
	q := &storage.Query{Prefix: s.prefix + prefix, Delimiter: "/"}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []string
	it := s.bucket.Objects(ctx, q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, gcsErr("list", prefix, err)
		}
		name := a.Name
		if a.Prefix != "" {
			name = a.Prefix
		}
		seg := strings.TrimSuffix(strings.TrimPrefix(name, s.prefix+prefix), "/")
		if seg != "" {
			out = append(out, seg)
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// Delete removes the object; deleting a missing object is not an error.
func (s *GCS) Delete(ctx context.Context, key string) error {
	o, err := s.object("delete", key)
	if err != nil {
		return err
	}
	// A retried delete that finds nothing is a success here.
	err = o.Retryer(storage.WithPolicy(storage.RetryAlways)).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return gcsErr("delete", key, err)
	}
	return nil
}

// Ping checks that the bucket is reachable and listable (the permission the
// store needs anyway; reading bucket metadata needs more).
func (s *GCS) Ping(ctx context.Context) error {
	it := s.bucket.Objects(ctx, &storage.Query{Prefix: s.prefix})
	it.PageInfo().MaxSize = 1
	if _, err := it.Next(); err != nil && !errors.Is(err, iterator.Done) {
		return kind.Errorf(kind.Unavailable, "ping %s: %w", s, err)
	}
	return nil
}
