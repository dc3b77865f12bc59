package store

import (
	"bytes"
	"context"
	"fmt"

	"tbhost/hosting/kind"
)

// MaxComposeSources is the most sources one Compose takes: the limit of a
// GCS compose request.
const MaxComposeSources = 32

// Source is an object Compose reads: its key and the generation it must be
// at (0: whatever it holds).
type Source struct {
	Key string
	Gen int64
}

// A Composer is a Store that merges objects itself, without its caller
// reading them: a GCS compose request, a file concatenation. Dir, GCS and
// Mem are Composers; Compose and DeleteIf (the functions) serve any Store.
//
// Compose and DeleteIf take generation preconditions as PutIf does, so
// that servers sharing a store can merge the same objects at once without
// losing any: whoever loses a race gets a Conflict and writes nothing.
type Composer interface {
	Store
	// Compose writes at dst the concatenation of srcs, in order, if dst
	// is at generation gen (0: dst must not exist) and every source is at
	// its generation; it returns dst's new generation. dst may be the
	// first source, which then grows by the others (see Dir.Compose). A
	// failed precondition is an error of kind Conflict and a missing source
	// one of kind NotFound; nothing is written then. It takes 1 to
	// MaxComposeSources sources (else an error of kind Invalid). The
	// sources are left as they are.
	Compose(ctx context.Context, dst string, gen int64, srcs []Source) (int64, error)
	// DeleteIf removes the object at key if it is at generation gen. An
	// object at another generation is left alone, and a missing one is
	// not an error: once DeleteIf returns nil, key holds no object at
	// generation gen.
	DeleteIf(ctx context.Context, key string, gen int64) error
}

// Compose writes at dst the concatenation of srcs, as Composer.Compose
// does: by s's own Compose if it has one, else by reading the sources and
// writing dst with PutIf (whose precondition then covers dst only: a
// source replaced after it was read goes unnoticed).
func Compose(ctx context.Context, s Store, dst string, gen int64, srcs []Source) (int64, error) {
	if c, ok := s.(Composer); ok {
		return c.Compose(ctx, dst, gen, srcs)
	}
	if err := checkCompose(dst, srcs); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	for _, src := range srcs {
		data, g, err := s.Get(ctx, src.Key)
		if err != nil {
			return 0, fmt.Errorf("compose %s: %w", dst, err)
		}
		if src.Gen != 0 && g != src.Gen {
			return 0, sourceConflict(dst, src)
		}
		buf.Write(data)
	}
	return s.PutIf(ctx, dst, buf.Bytes(), gen)
}

// DeleteIf removes the object at key if it is at generation gen, as
// Composer.DeleteIf does: by s's own DeleteIf if it has one, else by
// reading the generation and deleting (a write between the two is lost:
// stores that servers share implement Composer).
func DeleteIf(ctx context.Context, s Store, key string, gen int64) error {
	if c, ok := s.(Composer); ok {
		return c.DeleteIf(ctx, key, gen)
	}
	_, g, err := s.Get(ctx, key)
	switch {
	case kind.Of(err) == kind.NotFound:
		return nil
	case err != nil:
		return fmt.Errorf("delete %s: %w", key, err)
	case g != gen:
		return nil
	}
	return s.Delete(ctx, key)
}

// checkCompose checks the keys and the number of sources of a Compose.
func checkCompose(dst string, srcs []Source) error {
	if err := checkStoreKey("compose", dst); err != nil {
		return err
	}
	if len(srcs) == 0 || len(srcs) > MaxComposeSources {
		return kind.Errorf(kind.Invalid, "compose %s: %d sources; a compose takes 1 to %d", dst, len(srcs), MaxComposeSources)
	}
	for _, src := range srcs {
		if err := checkStoreKey("compose", src.Key); err != nil {
			return err
		}
	}
	return nil
}

// sourceConflict is the Conflict error of a Compose whose source is not at
// its generation.
func sourceConflict(dst string, src Source) error {
	return kind.Errorf(kind.Conflict, "compose %s: source %s is not at generation %d", dst, src.Key, src.Gen)
}
