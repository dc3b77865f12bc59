package store

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/storage"
)

var _ Composer = (*GCS)(nil)

// Compose writes at dst the concatenation of srcs by a GCS compose
// request: the bucket merges the objects, nothing is downloaded. The
// preconditions are the request's (ifGenerationMatch on dst and on each
// source).
//
// As with PutIf, if the compose lands but its response is lost, the
// client's retry fails the precondition: the caller sees a Conflict for a
// compose that happened, and must look again.
func (s *GCS) Compose(ctx context.Context, dst string, gen int64, srcs []Source) (int64, error) {
	if err := checkCompose(dst, srcs); err != nil {
		return 0, err
	}
	d, err := s.object("compose", dst)
	if err != nil {
		return 0, err
	}
	if gen == 0 {
		d = d.If(storage.Conditions{DoesNotExist: true})
	} else {
		d = d.If(storage.Conditions{GenerationMatch: gen})
	}
	handles := make([]*storage.ObjectHandle, len(srcs))
	for i, src := range srcs {
		h, err := s.object("compose", src.Key)
		if err != nil {
			return 0, err
		}
		if src.Gen != 0 {
			h = h.If(storage.Conditions{GenerationMatch: src.Gen})
		}
		handles[i] = h
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	c := d.ComposerFrom(handles...)
	c.ContentType = "application/octet-stream"
	attrs, err := c.Run(ctx)
	if err != nil {
		return 0, gcsErr("compose", dst, err)
	}
	return attrs.Generation, nil
}

// DeleteIf removes the object at key if it is at generation gen: a delete
// of that generation, which the bucket answers with "not found" when the
// object is at another one (and, in a bucket that keeps old versions,
// removes only that old version).
func (s *GCS) DeleteIf(ctx context.Context, key string, gen int64) error {
	o, err := s.object("delete", key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	err = o.Generation(gen).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return gcsErr("delete", key, err)
	}
	return nil
}
