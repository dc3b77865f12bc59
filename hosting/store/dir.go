package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"tbhost/hosting/kind"
	"time"
	"unicode/utf8"
)

// Dir is a Store in a local directory: the object at key "a/b/c" is the
// file <dir>/a/b/c, holding exactly the object's bytes.
//
// Writes are atomic and durable: the bytes go to a temporary file in the
// target's directory, which is synced and renamed over the target, and the
// directory is synced. Temporary files are named ".tbhost-tmp-*"; key
// segments starting with ".tbhost-" are reserved, and List never returns
// such files.
//
// The generation of an object is its file's modification time in
// nanoseconds since the epoch, which the store sets itself before the rename
// (so data and generation change together, atomically). Each write takes a
// new generation greater than the object's previous one and than any other
// generation issued in this process, so generations never repeat for a key.
// Conditional writes are serialised by per-key locks shared by every
// Dir in the process: one process may use a directory at a time, from
// any number of goroutines.
//
// A key cannot be both an object and a folder of other objects ("a/b" and
// "a/b/c"); writing one over the other fails with an error of kind Conflict.
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

const (
	dirTempPrefix   = ".tbhost-tmp-"
	reservedPrefix  = ".tbhost-"
	dirWriteChunk   = 4 << 20 // bytes written between context checks
	dirLockStripes  = 512
	maxKeyBytes     = 1024 // the GCS limit on object names
	maxSegmentBytes = 255  // NAME_MAX on common file systems
)

var (
	// dirLocks serialise writes to one key (striped by a hash of the
	// store root and the key).
	dirLocks    [dirLockStripes]sync.Mutex
	dirLockSeed = maphash.MakeSeed()
	// dirLastGen is the last generation issued in this process.
	dirLastGen atomic.Int64
)

// NewDir returns a store rooted at dir, creating the directory if
// needed.
func NewDir(dir string) (*Dir, error) {
	if dir == "" {
		return nil, kind.Errorf(kind.Invalid, "dir store: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dir store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("dir store: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("dir store: %w", err)
	}
	if !fi.IsDir() {
		return nil, kind.Errorf(kind.Invalid, "dir store: %s is not a directory", abs)
	}
	return &Dir{root: abs}, nil
}

// Root returns the store's directory (absolute).
func (s *Dir) Root() string { return s.root }

func (s *Dir) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

func (s *Dir) lock(key string) *sync.Mutex {
	var h maphash.Hash
	h.SetSeed(dirLockSeed)
	h.WriteString(s.root)
	h.WriteByte(0)
	h.WriteString(key)
	return &dirLocks[h.Sum64()%dirLockStripes]
}

// Put writes the object at key, replacing any object there.
func (s *Dir) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.write(ctx, key, data, nil)
	return err
}

// PutIf writes the object at key only if its current generation is gen
// (0: the object must not exist).
func (s *Dir) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	return s.write(ctx, key, data, &gen)
}

// write writes the object at key, if want is nil or is its current
// generation, and returns the new generation.
func (s *Dir) write(ctx context.Context, key string, data []byte, want *int64) (int64, error) {
	if err := checkStoreKey("put", key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	unlock, p, cur, err := s.lockWrite(key, want)
	defer unlock()
	if err != nil {
		return 0, err
	}
	return s.replace(ctx, "put", key, p, cur, func(f *os.File) error {
		for rest := data; len(rest) > 0; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(len(rest), dirWriteChunk)
			if _, err := f.Write(rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
}

// lockWrite takes key's lock for a write and returns the path of key's
// file and its current generation (0: none), or an error of kind Conflict
// if want is not nil and is not that generation. The caller calls unlock,
// error or not, once the write is done.
func (s *Dir) lockWrite(key string, want *int64) (unlock func(), p string, cur int64, err error) {
	mu := s.lock(key)
	mu.Lock()
	p = s.path(key)
	cur, err = dirCurrentGen(p)
	switch {
	case err != nil:
		err = dirWriteErr(key, err)
	case want != nil && *want != cur:
		err = generationConflict(key, *want)
	}
	return mu.Unlock, p, cur, err
}

// replace writes the object of key, whose file p is at generation cur, as
// every whole write of a Dir does: fill writes the bytes to a temporary
// file in p's folder, which is stamped with a new generation above cur,
// synced, closed and, if ctx is still live, renamed over p; the folder is
// then synced. The temporary file is removed on any failure before the
// rename. op names the operation in errors. The caller holds key's lock.
func (s *Dir) replace(ctx context.Context, op, key, p string, cur int64, fill func(*os.File) error) (int64, error) {
	dir := filepath.Dir(p)
	f, err := s.createTemp(dir)
	if err != nil {
		return 0, dirWriteErr(key, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	gen, err := stampGeneration(f, cur)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return 0, dirWriteErr(key, err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	return gen, nil
}

// dirWriteErr wraps an error from writing key, as a Conflict when the key
// collides with a folder of other keys (or a folder in it with an object).
func dirWriteErr(key string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		// The message is for API users: no local paths.
		return &kind.Error{Kind: kind.Conflict, Err: err,
			Message: fmt.Sprintf("put %s: a key cannot be both an object and a folder of objects", key)}
	}
	return fmt.Errorf("put %s: %w", key, err)
}

// dirCurrentGen returns the generation of the file at p, 0 if there is none.
func dirCurrentGen(p string) (int64, error) {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, err
	case fi.IsDir():
		return 0, &fs.PathError{Op: "put", Path: p, Err: syscall.EISDIR}
	}
	return fileGen(fi), nil
}

// fileGen is the generation of an existing file: its mtime in nanoseconds,
// at least 1 (0 means "no object").
func fileGen(fi fs.FileInfo) int64 {
	return max(fi.ModTime().UnixNano(), 1)
}

// stampGeneration sets the modification time of the temporary file f to a
// new generation greater than cur and returns it.
func stampGeneration(f *os.File, cur int64) (int64, error) {
	want := nextDirGen(cur)
	for range 3 {
		if err := os.Chtimes(f.Name(), time.Time{}, time.Unix(0, want)); err != nil {
			return 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			return 0, err
		}
		// A file system with coarse timestamps may round the time we set.
		if got := fi.ModTime().UnixNano(); got > cur {
			noteDirGen(got)
			return got, nil
		}
		want = cur + int64(time.Second)
	}
	return 0, errors.New("cannot set a new generation: file system timestamps are too coarse")
}

// nextDirGen returns a generation above cur, above any issued in this
// process, and normally the current time.
func nextDirGen(cur int64) int64 {
	for {
		last := dirLastGen.Load()
		g := max(time.Now().UnixNano(), last+1, cur+1)
		if dirLastGen.CompareAndSwap(last, g) {
			return g
		}
	}
}

func noteDirGen(g int64) {
	for {
		last := dirLastGen.Load()
		if g <= last || dirLastGen.CompareAndSwap(last, g) {
			return
		}
	}
}

// createTemp creates a temporary file in dir, creating dir if needed. A
// concurrent Delete may remove an empty dir between the two steps: retry.
func (s *Dir) createTemp(dir string) (*os.File, error) {
	var err error
	for range 100 {
		err = s.mkdirs(dir)
		if err == nil {
			var f *os.File
			f, err = os.CreateTemp(dir, dirTempPrefix+"*")
			if err == nil {
				return f, nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

// mkdirs creates dir and its missing parents under the root, syncing the
// parent of each directory it creates.
func (s *Dir) mkdirs(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) || dir == s.root {
		return err
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return s.mkdirs(dir) // created concurrently; check it is a directory
		}
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory, making the entries in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openObject opens the file of key; an error of kind NotFound if there is
// no such object.
func (s *Dir) openObject(op, key string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, objectNotFound(op, key, err)
		}
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, objectNotFound(op, key, fs.ErrNotExist)
	}
	return f, fi, nil
}

// Get returns the object and its generation.
func (s *Dir) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if err := checkStoreKey("get", key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	f, fi, err := s.openObject("get", key)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	// Files are replaced by rename, never modified: the size and mtime of
	// the open file describe exactly the bytes it holds.
	data := make([]byte, fi.Size())
	for off := 0; off < len(data); {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("get %s: %w", key, err)
		}
		n, err := io.ReadFull(f, data[off:min(len(data), off+dirWriteChunk)])
		off += n
		if err != nil {
			return nil, 0, fmt.Errorf("get %s: %w", key, err)
		}
	}
	return data, fileGen(fi), nil
}

// Open streams the object from offset off. An offset equal to the size gives
// an empty reader; a larger one is an error of kind Invalid. Reads fail once
// ctx is done.
func (s *Dir) Open(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	if err := checkStoreKey("open", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	f, fi, err := s.openObject("open", key)
	if err != nil {
		return nil, err
	}
	if err := checkOffset(key, off, fi.Size()); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return &ctxReader{ctx: ctx, r: f, c: f}, nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *Dir) List(ctx context.Context, prefix, from string) ([]ObjectInfo, error) {
	if err := checkStorePrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest folder that holds every match.
	start := s.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = s.path(prefix[:i])
	}
	var out []ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // removed while we walk, or start is a file
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == s.root {
			return nil
		}
		if strings.HasPrefix(d.Name(), reservedPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Descend only where keys can match the prefix.
			if p == start || strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/") {
				return nil
			}
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || key < from {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: fi.Size(), Gen: fileGen(fi)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	// A walk visits "a/b" before "a-b"; keys sort as strings.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Claim marks the directory as served: by this server alone (shared
// false), or by servers that all know they share it (shared true). It
// fails when the directory is claimed the other way, so that a second
// server started on a directory it believes its own (and whose cache
// would then trust stale boards forever) stops with a clear error. The
// claim is an advisory lock held until release or the process ends.
func (s *Dir) Claim(shared bool) (release func() error, err error) {
	f, err := os.OpenFile(filepath.Join(s.root, reservedPrefix+"lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", s.root, err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if shared {
				return nil, kind.Errorf(kind.Conflict, "%s is served by a server that believes it is alone there: stop it, or restart every server on it with --shared", s.root)
			}
			return nil, kind.Errorf(kind.Conflict, "%s is already served by another tbhost: give --shared to every server on it (their caches then re-read boards and runs other servers change)", s.root)
		}
		return nil, fmt.Errorf("claim %s: %w", s.root, err)
	}
	return f.Close, nil
}

// Children returns the segments directly under prefix: the entries of
// its folder, empty folders (left by deletes) aside.
func (s *Dir) Children(ctx context.Context, prefix string) ([]string, error) {
	if err := checkChildrenPrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	ents, err := os.ReadDir(s.path(strings.TrimSuffix(prefix, "/")))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), reservedPrefix) {
			continue
		}
		if e.IsDir() {
			if sub, err := os.ReadDir(filepath.Join(s.path(strings.TrimSuffix(prefix, "/")), e.Name())); err != nil || len(sub) == 0 {
				continue
			}
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// Delete removes the object, and the folders it leaves empty; deleting a
// missing object is not an error.
func (s *Dir) Delete(ctx context.Context, key string) error {
	return s.remove(ctx, key, func(fi fs.FileInfo) bool {
		return !fi.IsDir() // a folder of other objects is not an object
	})
}

// remove removes the file of key if there is one and ok says so, under
// key's lock, then the folders it leaves empty, and syncs the parent of
// the last folder changed. Delete and DeleteIf differ only in ok.
func (s *Dir) remove(ctx context.Context, key string, ok func(fs.FileInfo) bool) error {
	if err := checkStoreKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	p := s.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if !ok(fi) {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	// Remove the folders left empty (os.Remove fails on a non-empty one,
	// so this cannot remove another key's folder), then sync the parent
	// of the last folder changed.
	dir := filepath.Dir(p)
	for dir != s.root && os.Remove(dir) == nil {
		dir = filepath.Dir(dir)
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Ping checks that the directory is writable.
func (s *Dir) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	f, err := os.CreateTemp(s.root, dirTempPrefix+"ping-*")
	if err != nil {
		return kind.Errorf(kind.Unavailable, "ping %s: %w", s.root, err)
	}
	name := f.Name()
	_, err = f.Write([]byte("ping"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return kind.Errorf(kind.Unavailable, "ping %s: %w", s.root, err)
	}
	return nil
}

// Key rules shared by every store: keys must work on all of them.

// checkStoreKey returns an error of kind Invalid unless key is a valid store
// key: non-empty, at most 1024 bytes of valid UTF-8 without control
// characters, "/"-separated segments that are non-empty, at most 255 bytes,
// not "." or "..", and not starting with the reserved ".tbhost-".
func checkStoreKey(op, key string) error {
	if key == "" {
		return kind.Errorf(kind.Invalid, "%s: empty key", op)
	}
	if len(key) > maxKeyBytes {
		return kind.Errorf(kind.Invalid, "%s %.64s...: key longer than %d bytes", op, key, maxKeyBytes)
	}
	if err := checkKeyChars(key); err != nil {
		return kind.Errorf(kind.Invalid, "%s %q: %v", op, key, err)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return kind.Errorf(kind.Invalid, "%s %q: %v", op, key, err)
		}
	}
	return nil
}

// checkStorePrefix checks a List prefix: every complete segment (before the
// last "/") must be valid; the last, partial one may be anything a key
// segment may start with.
// checkChildrenPrefix checks the prefix of a Children call: a key of
// folders, ending in "/".
func checkChildrenPrefix(prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return kind.Errorf(kind.Invalid, "list %q: a prefix of children ends in \"/\"", prefix)
	}
	return checkStoreKey("list", strings.TrimSuffix(prefix, "/"))
}

func checkStorePrefix(prefix string) error {
	if len(prefix) > maxKeyBytes {
		return kind.Errorf(kind.Invalid, "list %.64s...: prefix longer than %d bytes", prefix, maxKeyBytes)
	}
	if err := checkKeyChars(prefix); err != nil {
		return kind.Errorf(kind.Invalid, "list %q: %v", prefix, err)
	}
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] {
		if err := checkSegment(seg); err != nil {
			return kind.Errorf(kind.Invalid, "list %q: %v", prefix, err)
		}
	}
	return nil
}

func checkKeyChars(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("key is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("key contains control character %U", r)
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return errors.New("empty path segment (leading, trailing or double slash)")
	case seg == "." || seg == "..":
		return fmt.Errorf("%q path segment", seg)
	case len(seg) > maxSegmentBytes:
		return fmt.Errorf("path segment longer than %d bytes", maxSegmentBytes)
	case strings.HasPrefix(seg, reservedPrefix):
		return fmt.Errorf("path segment starts with the reserved %q", reservedPrefix)
	}
	return nil
}

// checkOffset checks an Open offset against the object's size.
func checkOffset(key string, off, size int64) error {
	if off < 0 || off > size {
		return kind.Errorf(kind.Invalid, "open %s: offset %d outside the object (size %d)", key, off, size)
	}
	return nil
}

// objectNotFound is the NotFound error for op on key.
func objectNotFound(op, key string, err error) error {
	if err == nil {
		err = fs.ErrNotExist
	}
	return &kind.Error{Kind: kind.NotFound, Message: fmt.Sprintf("%s %s: no such object", op, key), Err: err}
}

// generationConflict is the Conflict error of a failed PutIf.
func generationConflict(key string, gen int64) error {
	if gen == 0 {
		return kind.Errorf(kind.Conflict, "put %s: object already exists", key)
	}
	return kind.Errorf(kind.Conflict, "put %s: object is not at generation %d", key, gen)
}
