package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Mem is a Store held in memory, for tests. It is safe for concurrent
// use. Generations are unique across the store and increase with every
// write.
type Mem struct {
	mu      sync.RWMutex
	objects map[string]memObject
	keys    []string // the objects' keys, sorted: List costs what a bucket's does
	lastGen int64
}

// memObject is one stored object. Its data is never modified after it is
// stored, so readers may share it.
type memObject struct {
	data []byte
	gen  int64
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	return &Mem{objects: make(map[string]memObject)}
}

var _ Store = (*Mem)(nil)

// put stores a copy of data at key; the caller holds s.mu.
func (s *Mem) put(key string, data []byte) int64 {
	if _, ok := s.objects[key]; !ok {
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	s.lastGen++
	s.objects[key] = memObject{data: bytes.Clone(data), gen: s.lastGen}
	return s.lastGen
}

// Put writes the object at key, replacing any object there.
func (s *Mem) Put(ctx context.Context, key string, data []byte) error {
	if err := checkStoreKey("put", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(key, data)
	return nil
}

// PutIf writes the object at key only if its current generation is gen
// (0: the object must not exist).
func (s *Mem) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	if err := checkStoreKey("put", key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.objects[key].gen; cur != gen {
		return 0, generationConflict(key, gen)
	}
	return s.put(key, data), nil
}

// Get returns a copy of the object and its generation.
func (s *Mem) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if err := checkStoreKey("get", key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	s.mu.RLock()
	o, ok := s.objects[key]
	s.mu.RUnlock()
	if !ok {
		return nil, 0, objectNotFound("get", key, nil)
	}
	return bytes.Clone(o.data), o.gen, nil
}

// Open streams the object from offset off. An offset equal to the size gives
// an empty reader; a larger one is an error of kind Invalid.
func (s *Mem) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if err := checkStoreKey("open", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	s.mu.RLock()
	o, ok := s.objects[key]
	s.mu.RUnlock()
	if !ok {
		return nil, objectNotFound("open", key, nil)
	}
	if err := checkOffset(key, off, int64(len(o.data))); err != nil {
		return nil, err
	}
	return &ctxReader{ctx: ctx, r: bytes.NewReader(o.data[off:])}, nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *Mem) List(ctx context.Context, prefix, start string) ([]ObjectInfo, error) {
	if err := checkStorePrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []ObjectInfo
	i, _ := slices.BinarySearch(s.keys, max(prefix, start))
	for _, k := range s.keys[i:] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		o := s.objects[k]
		out = append(out, ObjectInfo{Key: k, Size: int64(len(o.data)), Gen: o.gen})
	}
	return out, nil
}

// Children returns the segments directly under prefix.
func (s *Mem) Children(ctx context.Context, prefix string) ([]string, error) {
	if err := checkChildrenPrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	i, _ := slices.BinarySearch(s.keys, prefix)
	for _, k := range s.keys[i:] {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			break
		}
		seg, _, _ := strings.Cut(rest, "/")
		if len(out) == 0 || out[len(out)-1] != seg {
			out = append(out, seg)
		}
	}
	return out, nil
}

// Delete removes the object; deleting a missing object is not an error.
func (s *Mem) Delete(ctx context.Context, key string) error {
	if err := checkStoreKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.mu.Lock()
	if _, ok := s.objects[key]; ok {
		delete(s.objects, key)
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Delete(s.keys, i, i+1)
	}
	s.mu.Unlock()
	return nil
}

// Ping always succeeds unless ctx is done.
func (s *Mem) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// ctxReader is a reader that fails once its context is done, so that a
// stream opened with a context stops when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	c   io.Closer // may be nil
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *ctxReader) Close() error {
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}
