package store

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

var _ Composer = (*Dir)(nil)

// Compose writes at dst the concatenation of srcs (see Composer), holding
// dst's key lock throughout.
//
// When dst is the first source, the others are appended to its file in
// place, so growing a large object by small ones costs the small ones'
// bytes, not a copy of the large one (merging a live file's appends into
// a segment of tens of MiB would otherwise rewrite it for every few KiB).
// The bytes are synced before the new generation is stamped. The file's
// first bytes never change, but this is the one write of a Dir that is not
// atomic: a reader may see the object grow, and a crash midway leaves dst
// holding its bytes and a prefix of the others' (a failed append that the
// process survives is undone). Otherwise the concatenation is written to a
// temporary file renamed over dst, as Put does.
func (s *Dir) Compose(ctx context.Context, dst string, gen int64, srcs []Source) (int64, error) {
	if err := checkCompose(dst, srcs); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	unlock, p, cur, err := s.lockWrite(dst, &gen)
	defer unlock()
	if err != nil {
		return 0, err
	}
	// Open every source first: files are replaced by rename, so an open
	// file keeps the bytes of the generation it was checked at.
	files := make([]*os.File, len(srcs))
	sizes := make([]int64, len(srcs))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, src := range srcs {
		f, fi, err := s.openObject("compose", src.Key)
		if err != nil {
			return 0, err
		}
		files[i], sizes[i] = f, fi.Size()
		if src.Gen != 0 && fileGen(fi) != src.Gen {
			return 0, sourceConflict(dst, src)
		}
	}
	if srcs[0].Key == dst {
		return s.appendTo(ctx, dst, files[0], sizes[0], gen, files[1:], sizes[1:])
	}
	return s.concatenate(ctx, dst, p, cur, files, sizes)
}

// appendTo appends the first sizes[i] bytes of each of files to f, the
// open file of dst at generation gen and size size, and stamps a new
// generation. The caller holds dst's lock.
func (s *Dir) appendTo(ctx context.Context, dst string, f *os.File, size, gen int64, files []*os.File, sizes []int64) (int64, error) {
	w, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	defer w.Close()
	undo := func(err error) (int64, error) {
		// Writes moved the modification time: restore the generation too.
		if terr := w.Truncate(size); terr == nil {
			os.Chtimes(w.Name(), time.Time{}, time.Unix(0, gen))
			w.Sync()
		}
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	if _, err := w.Seek(size, io.SeekStart); err != nil {
		return undo(err)
	}
	if err := copyFiles(ctx, w, files, sizes); err != nil {
		return undo(err)
	}
	if err := w.Sync(); err != nil {
		return undo(err)
	}
	newGen, err := stampGeneration(w, gen)
	if err != nil {
		return undo(err)
	}
	if err := w.Sync(); err != nil {
		return 0, fmt.Errorf("compose %s: %w", dst, err)
	}
	return newGen, nil
}

// concatenate writes the sources to a temporary file renamed over p, the
// path of dst at generation cur, as Put does. The caller holds dst's lock.
func (s *Dir) concatenate(ctx context.Context, dst, p string, cur int64, files []*os.File, sizes []int64) (int64, error) {
	return s.replace(ctx, "compose", dst, p, cur, func(f *os.File) error {
		return copyFiles(ctx, f, files, sizes)
	})
}

// copyFiles copies the first sizes[i] bytes of each of files to w, in
// order, checking ctx between chunks.
func copyFiles(ctx context.Context, w io.Writer, files []*os.File, sizes []int64) error {
	for i, f := range files {
		for left := sizes[i]; left > 0; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := io.CopyN(w, f, min(left, dirWriteChunk))
			left -= n
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteIf removes the object at key, and the folders it leaves empty, if
// it is at generation gen.
func (s *Dir) DeleteIf(ctx context.Context, key string, gen int64) error {
	return s.remove(ctx, key, func(fi fs.FileInfo) bool {
		return fi.Mode().IsRegular() && fileGen(fi) == gen
	})
}
