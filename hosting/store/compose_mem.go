package store

import (
	"context"
	"fmt"
	"slices"
)

var _ Composer = (*Mem)(nil)

// Compose writes at dst the concatenation of srcs (see Composer). When dst
// is the first source, its bytes are not copied: the others are appended
// to them (readers of the old object see only its own length).
func (s *Mem) Compose(ctx context.Context, dst string, gen int64, srcs []Source) (int64, error) {
	if err := checkCompose(dst, srcs); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.objects[dst].gen; cur != gen {
		return 0, generationConflict(dst, gen)
	}
	total := 0
	for _, src := range srcs {
		o, ok := s.objects[src.Key]
		if !ok {
			return 0, objectNotFound("compose", src.Key, nil)
		}
		if src.Gen != 0 && o.gen != src.Gen {
			return 0, sourceConflict(dst, src)
		}
		total += len(o.data)
	}
	var data []byte
	rest := srcs
	if srcs[0].Key == dst {
		// Each array belongs to one key (only this path shares one, with
		// the key's next object), so appending in place overwrites
		// nothing another object holds.
		data, rest = s.objects[dst].data, srcs[1:]
	} else {
		data = make([]byte, 0, total)
	}
	for _, src := range rest {
		data = append(data, s.objects[src.Key].data...)
	}
	if _, ok := s.objects[dst]; !ok {
		i, _ := slices.BinarySearch(s.keys, dst)
		s.keys = slices.Insert(s.keys, i, dst)
	}
	s.lastGen++
	s.objects[dst] = memObject{data: data, gen: s.lastGen}
	return s.lastGen, nil
}

// DeleteIf removes the object at key if it is at generation gen.
func (s *Mem) DeleteIf(ctx context.Context, key string, gen int64) error {
	if err := checkStoreKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objects[key]; !ok || o.gen != gen {
		return nil
	}
	delete(s.objects, key)
	i, _ := slices.BinarySearch(s.keys, key)
	s.keys = slices.Delete(s.keys, i, i+1)
	return nil
}
