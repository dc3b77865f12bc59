package engine

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"google.golang.org/protobuf/proto"

	"tbhost/hosting/hostingpb"
	"tbhost/sampler"
)

// Run is one run's digest, decoded. It is immutable once built:
// writers publish new ones, so readers never lock.
type Run struct {
	key string // digest key
	gen int64  // store generation of the digest (0: not stored yet)
	// size is the raw bytes parsed into the state, over all files: with
	// gen, it names the state's content (the stored checkpoint plus the
	// raw parts parsed past it).
	size     int64
	replayed int64             // bytes parsed past the stored checkpoint on load
	d        *hostingpb.Digest // the digest without its sampler state
	s        *sampler.Run
	loaded   time.Time
}

func (r *Run) sizeBytes() int64 {
	return int64(proto.Size(r.d)) + int64(r.s.SizeBytes()) + 512
}

type boardEntry struct {
	meta   *Board
	loaded time.Time
}

type runListEntry struct {
	keys   []string
	loaded time.Time
}

// cache keeps decoded digests, bounded in bytes, plus board metadata and
// run lists. Entries older than ttl are reloaded, so servers sharing a
// store converge within ttl; a server's own writes are visible at once.
type cache struct {
	mu       sync.Mutex
	ttl      time.Duration
	maxBytes int64
	bytes    int64
	runs     *simplelru.LRU[string, *Run]
	boards   *simplelru.LRU[string, boardEntry]
	lists    *simplelru.LRU[string, runListEntry]
	notes    *simplelru.LRU[string, notesEntry] // annotations.go
	// gone holds recently deleted boards, so that a read that began
	// before the delete cannot put them back. It is bounded: a read older
	// than the last maxGone deletes finds the board gone from the store.
	gone *simplelru.LRU[string, struct{}]
	// epoch counts dropRunList calls (see putRunList).
	epoch uint64
	stats CacheStats
}

// CacheStats counts cache events since the server started.
type CacheStats struct {
	Hits, Misses, Evictions int64
	Bytes                   int64
}

// maxGone bounds the deleted boards a cache remembers.
const maxGone = 4096

func newCache(maxBytes int64, ttl time.Duration) *cache {
	c := &cache{ttl: ttl, maxBytes: maxBytes}
	c.gone, _ = simplelru.NewLRU[string, struct{}](maxGone, nil)
	c.runs, _ = simplelru.NewLRU[string, *Run](1<<30, func(_ string, r *Run) {
		c.bytes -= r.sizeBytes()
		c.stats.Evictions++
	})
	c.boards, _ = simplelru.NewLRU[string, boardEntry](100000, nil)
	c.lists, _ = simplelru.NewLRU[string, runListEntry](100000, nil)
	c.notes, _ = simplelru.NewLRU[string, notesEntry](100000, nil)
	return c
}

func (c *cache) fresh(loaded, now time.Time) bool { return now.Sub(loaded) < c.ttl }

func (c *cache) run(key string, now time.Time) (*Run, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.runs.Get(key)
	if ok && c.fresh(r.loaded, now) {
		c.stats.Hits++
		return r, true
	}
	c.stats.Misses++
	return nil, false
}

// hit counts a run state found in memory elsewhere (a writer's).
func (c *cache) hit() {
	c.mu.Lock()
	c.stats.Hits++
	c.mu.Unlock()
}

func (c *cache) putRun(r *Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone.Contains(boardOfKey(r.key)) {
		return
	}
	if old, ok := c.runs.Peek(r.key); ok {
		if old.gen > r.gen || old.gen == r.gen && old.size > r.size {
			// A read that began before a write finished must not put
			// back the older digest (generations and sizes only grow).
			return
		}
		c.runs.Remove(r.key) // the evict callback un-counts its bytes
		c.stats.Evictions--  // a replacement is not an eviction
	}
	c.runs.Add(r.key, r)
	c.bytes += r.sizeBytes()
	for c.bytes > c.maxBytes && c.runs.Len() > 1 {
		c.runs.RemoveOldest()
	}
}

func (c *cache) board(id string, now time.Time) (*Board, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.boards.Get(id)
	if ok && c.fresh(e.loaded, now) {
		return e.meta, true
	}
	return nil, false
}

func (c *cache) putBoard(b *Board, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone.Contains(b.ID) {
		return
	}
	c.boards.Add(b.ID, boardEntry{meta: b, loaded: now})
}

// runList returns a board's cached run list; on a miss it returns the
// epoch to give putRunList with the list read from the store.
func (c *cache) runList(id string, now time.Time) (keys []string, epoch uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lists.Get(id)
	if ok && c.fresh(e.loaded, now) {
		return e.keys, 0, true
	}
	return nil, c.epoch, false
}

// putRunList caches a run list read from the store, unless a run was
// added since the read began (epoch moved on): that list may lack it.
func (c *cache) putRunList(id string, keys []string, epoch uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	c.lists.Add(id, runListEntry{keys: keys, loaded: now})
}

// listed reports whether a board's cached run list holds key.
func (c *cache) listed(id, key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lists.Peek(id)
	return ok && slices.Contains(e.keys, key)
}

// dropRun forgets a run's state.
func (c *cache) dropRun(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs.Remove(key) {
		c.stats.Evictions-- // not an eviction for want of room
	}
}

// dropBoard forgets everything about a board.
func (c *cache) dropBoard(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone.Add(id, struct{}{})
	c.boards.Remove(id)
	c.lists.Remove(id)
	c.notes.Remove(id)
	prefix := digestPrefix(id)
	for _, k := range c.runs.Keys() {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			c.runs.Remove(k)
		}
	}
}

// Stats returns the cache counters.
func (c *cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.bytes
	return s
}

// dropRunList forgets a board's run list (a run was added).
func (c *cache) dropRunList(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.lists.Remove(id)
}

// boardOfKey returns the board id of a store key under boards/.
func boardOfKey(key string) string {
	rest := strings.TrimPrefix(key, "boards/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}
