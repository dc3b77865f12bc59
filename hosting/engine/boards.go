package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"tbhost/hosting/kind"
)

// maxEditRetries bounds how often an edit of board.json (or of another
// object edited in place, retryConflicts) is re-applied when another
// server wrote it at the same time.
const maxEditRetries = 16

// Secrets are the board's secrets in the clear, returned once, by the call
// that makes them.
type Secrets struct {
	Token   string // the write token
	ViewKey string // the view key of a private board ("" when unchanged)
}

// BoardSpec is what a new board starts with.
type BoardSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Private     bool   `json:"private"`
}

// CanWrite checks a presented write token.
func (b *Board) CanWrite(token string) error {
	if token == "" {
		return kind.Errorf(kind.Unauthorized, "this needs the board's write token (Authorization: Bearer <token>)")
	}
	if !secretMatches(token, b.TokenHash) {
		return kind.Errorf(kind.Forbidden, "the write token is not the one for board %s", b.ID)
	}
	return nil
}

// CanRead lets anyone read a public board; a private one needs its view
// key or its write token.
func (b *Board) CanRead(key, token string) error {
	if !b.Private {
		return nil
	}
	if key == "" && token == "" {
		return kind.Errorf(kind.Unauthorized, "board %s is private: add ?key=<view key> to the link", b.ID)
	}
	if secretMatches(key, b.ViewKeyHash) || secretMatches(token, b.TokenHash) {
		return nil
	}
	return kind.Errorf(kind.Forbidden, "the view key is not the one for board %s", b.ID)
}

// CheckUploadToken checks the server's upload token, when it has one, for
// creating a board.
func (s *Engine) CheckUploadToken(token string) error {
	if s.cfg.UploadToken == "" {
		return nil
	}
	if token == "" {
		return kind.Errorf(kind.Unauthorized, "this server needs an upload token to create boards (--upload-token or TBHOST_UPLOAD_TOKEN on the client)")
	}
	if !secretMatches(token, hashSecret(s.cfg.UploadToken)) {
		return kind.Errorf(kind.Forbidden, "the upload token is wrong")
	}
	return nil
}

// Board returns the board's metadata, from the cache when it is fresh.
func (s *Engine) Board(ctx context.Context, id string) (*Board, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if b, ok := s.cache.board(id, s.now()); ok {
		return b, nil
	}
	return s.readBoard(ctx, id)
}

// readBoard reads the board's metadata from the store and caches it. A
// tombstone reads as not found; one left by a server that died while
// deleting is finished here.
func (s *Engine) readBoard(ctx context.Context, id string) (*Board, error) {
	b, err := s.getBoard(ctx, id)
	if err != nil {
		return nil, err
	}
	if !b.Deleted.IsZero() {
		if s.now().Sub(b.Deleted) > s.sweepDelay()+time.Minute {
			go s.finishDelete(context.WithoutCancel(ctx), id, false)
		}
		return nil, kind.Errorf(kind.NotFound, "board %s not found", id)
	}
	s.cache.putBoard(b, s.now())
	return b, nil
}

// getBoard reads board.json as stored, tombstone or not.
func (s *Engine) getBoard(ctx context.Context, id string) (*Board, error) {
	data, gen, err := s.store.Get(ctx, boardKey(id))
	if err != nil {
		if kind.Of(err) == kind.NotFound {
			return nil, kind.Errorf(kind.NotFound, "board %s not found", id)
		}
		s.storeError("get")
		return nil, fmt.Errorf("read board %s: %w", id, err)
	}
	var b Board
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode board %s: %w", id, err)
	}
	b.gen = gen
	return &b, nil
}

// putBoard writes b if board.json is still at generation b.gen (0: it must
// not exist), and caches it. A lost race is an error of kind Conflict.
func (s *Engine) putBoard(ctx context.Context, b *Board) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode board %s: %w", b.ID, err)
	}
	gen, err := s.store.PutIf(ctx, boardKey(b.ID), data, b.gen)
	if err != nil {
		if kind.Of(err) != kind.Conflict {
			s.storeError("put")
		}
		return fmt.Errorf("write board %s: %w", b.ID, err)
	}
	b.gen = gen
	if b.Deleted.IsZero() {
		s.cache.putBoard(b, s.now())
	}
	return nil
}

// editBoard applies edit to the stored board and writes it conditionally;
// when another server wrote the board meanwhile, it reads it again and
// applies edit again, so concurrent edits of different fields all land.
// edit may refuse (its error is returned as it is).
func (s *Engine) editBoard(ctx context.Context, id string, edit func(*Board) error) (*Board, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out *Board
	err := retryConflicts("board "+id, func() error {
		b, err := s.getBoard(ctx, id)
		if err != nil {
			return err
		}
		if !b.Deleted.IsZero() {
			return kind.Errorf(kind.NotFound, "board %s not found", id)
		}
		if err := edit(b); err != nil {
			return err
		}
		if err := s.putBoard(ctx, b); err != nil {
			return err
		}
		out = b
		return nil
	})
	return out, err
}

// retryConflicts runs attempt, a read-modify-write of one stored object
// that ends in a conditional write (Store.PutIf on the generation read),
// again for as long as it loses the race to another writer: an error of
// kind Conflict from attempt means the object changed since it was read,
// so it is read and the change applied again, and concurrent changes all
// land. Any other outcome is returned as it is, so attempt must not refuse
// with kind Conflict. After maxEditRetries lost races it gives up with an
// error of kind Unavailable naming what (board.json, annotations.json).
func retryConflicts(what string, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if kind.Of(err) != kind.Conflict {
			return err
		}
		if n == maxEditRetries {
			return kind.Errorf(kind.Unavailable, "%s is being changed by others at the same time; retry", what)
		}
	}
}

// CreateBoard makes a new board and returns it with its secrets.
func (s *Engine) CreateBoard(ctx context.Context, spec BoardSpec) (*Board, Secrets, error) {
	if err := validateNameDesc(spec.Name, spec.Description); err != nil {
		return nil, Secrets{}, err
	}
	var sec Secrets
	var err error
	if sec.Token, err = newSecret(32); err != nil {
		return nil, Secrets{}, err
	}
	now := s.now().UTC()
	b := &Board{Name: spec.Name, Description: spec.Description, Created: now, Updated: now, Private: spec.Private, TokenHash: hashSecret(sec.Token)}
	if spec.Private {
		if sec.ViewKey, err = newSecret(24); err != nil {
			return nil, Secrets{}, err
		}
		b.ViewKeyHash = hashSecret(sec.ViewKey)
	}
	for {
		if b.ID, err = newBoardID(); err != nil {
			return nil, Secrets{}, err
		}
		err := s.putBoard(ctx, b)
		if kind.Of(err) == kind.Conflict {
			continue // 128 random bits met an existing id: draw again
		}
		if err != nil {
			return nil, Secrets{}, err
		}
		return b, sec, nil
	}
}

// BoardEdit is what an owner may change (nil fields are left alone).
type BoardEdit struct {
	Name          *string `json:"name"`
	Description   *string `json:"description"`
	Private       *bool   `json:"private"`
	RotateViewKey bool    `json:"rotate_view_key"`
}

// UpdateBoard applies an owner's edit, presented with the write token. It
// returns the board and, when the edit made one, the new view key.
func (s *Engine) UpdateBoard(ctx context.Context, id, token string, edit BoardEdit) (*Board, string, error) {
	newKey, err := newSecret(24) // drawn once: every attempt writes the same key
	if err != nil {
		return nil, "", err
	}
	var made bool
	b, err := s.editBoard(ctx, id, func(b *Board) error {
		if err := b.CanWrite(token); err != nil {
			return err
		}
		made = false
		if edit.Name != nil {
			b.Name = *edit.Name
		}
		if edit.Description != nil {
			b.Description = *edit.Description
		}
		if err := validateNameDesc(b.Name, b.Description); err != nil {
			return err
		}
		if edit.Private != nil {
			b.Private = *edit.Private
		}
		if b.Private && (edit.RotateViewKey || b.ViewKeyHash == "") {
			b.ViewKeyHash = hashSecret(newKey)
			made = true
		}
		b.Updated = s.now().UTC()
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if !made {
		newKey = ""
	}
	return b, newKey, nil
}

// sweepDelay is how long after marking a board deleted its objects are
// listed and deleted once more: long enough for every server sharing the
// store to see the tombstone (the cache TTL) and for an append that began
// before it to finish. A store only this server writes needs no wait: its
// own appends are drained.
func (s *Engine) sweepDelay() time.Duration {
	if !s.Shared() {
		return 0
	}
	return s.cfg.DeleteGrace
}

// DeleteBoard deletes a board and everything in it, presented with the
// write token. It marks board.json deleted first (so every server refuses
// the board from then on), waits for this server's appends to the board
// to finish, deletes every object, and on a shared store deletes them
// once more after sweepDelay, for appends that other servers had under
// way; board.json goes last. A server that dies on the way leaves the
// tombstone, and whoever reads it later finishes the delete.
func (s *Engine) DeleteBoard(ctx context.Context, id, token string) error {
	_, err := s.editBoard(ctx, id, func(b *Board) error {
		if err := b.CanWrite(token); err != nil {
			return err
		}
		b.Deleted = s.now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	s.cache.dropBoard(id)
	s.gates.closeAndWait(id)
	s.dropWriters(id)
	return s.finishDelete(ctx, id, true)
}

// finishDelete deletes a tombstoned board's objects, board.json last. With
// wait, on a shared store, it deletes them once more after sweepDelay,
// in the background.
func (s *Engine) finishDelete(ctx context.Context, id string, wait bool) error {
	if err := s.deleteObjects(ctx, id, false); err != nil {
		return err
	}
	if d := s.sweepDelay(); wait && d > 0 {
		time.AfterFunc(d, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := s.deleteObjects(ctx, id, true); err != nil {
				s.log.Warn("delete board: final sweep failed; the next read of the board retries it", "board", id, "err", err)
			}
			s.gates.forget(id)
		})
		return nil
	}
	err := s.deleteObjects(ctx, id, true)
	s.gates.forget(id)
	return err
}

// deleteObjects deletes a board's objects; board.json only with all.
func (s *Engine) deleteObjects(ctx context.Context, id string, all bool) error {
	objs, err := s.store.List(ctx, boardPrefix(id), "")
	if err != nil {
		s.storeError("list")
		return fmt.Errorf("list board %s: %w", id, err)
	}
	// board.json last, so that a failed delete can be retried.
	sort.SliceStable(objs, func(i, j int) bool { return objs[j].Key == boardKey(id) })
	for _, o := range objs {
		if o.Key == boardKey(id) && !all {
			continue
		}
		if err := s.store.Delete(ctx, o.Key); err != nil {
			s.storeError("delete")
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	s.sizes.drop(id)
	return nil
}

// boardGates tracks this server's appends under way per board, so that a
// delete can wait for them and refuse new ones.
type boardGates struct {
	mu     sync.Mutex
	cond   *sync.Cond
	active map[string]int
	closed map[string]bool // deletes under way or waiting for their sweep
}

// enter admits an append to board id; false once the board is being deleted.
func (g *boardGates) enter(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	if g.closed[id] {
		return false
	}
	g.active[id]++
	return true
}

func (g *boardGates) leave(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active[id]--; g.active[id] <= 0 {
		delete(g.active, id)
		g.cond.Broadcast()
	}
}

// closeAndWait refuses new appends to id and waits for those under way.
func (g *boardGates) closeAndWait(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	g.closed[id] = true
	for g.active[id] > 0 {
		g.cond.Wait()
	}
}

// forget drops a deleted board's entry: the board's tombstone or absence
// refuses appends from then on.
func (g *boardGates) forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.closed, id)
}

// init makes the maps. The caller holds g.mu.
func (g *boardGates) init() {
	if g.active == nil {
		g.active, g.closed = map[string]int{}, map[string]bool{}
		g.cond = sync.NewCond(&g.mu)
	}
}

// boardSizes keeps each board's raw byte count for the per-board limit,
// so that an append costs no walk of the board's runs: it is counted once
// from a listing of the board's raw parts, then kept up to date with this
// server's appends. On a store other servers write, the count is taken
// again every sizeRefresh, so their appends count too, that much later.
type boardSizes struct {
	mu sync.Mutex
	m  map[string]*boardSize
}

type boardSize struct {
	n       int64
	counted time.Time
}

// sizeRefresh is how often a shared store's board sizes are counted again.
const sizeRefresh = time.Minute

func (bs *boardSizes) get(id string, now time.Time, shared bool) (int64, bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	e := bs.m[id]
	if e == nil || shared && now.Sub(e.counted) > sizeRefresh {
		return 0, false
	}
	return e.n, true
}

func (bs *boardSizes) set(id string, n int64, now time.Time) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.m == nil {
		bs.m = map[string]*boardSize{}
	}
	bs.m[id] = &boardSize{n: n, counted: now}
}

func (bs *boardSizes) add(id string, n int64) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if e := bs.m[id]; e != nil {
		e.n += n
	}
}

func (bs *boardSizes) drop(id string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	delete(bs.m, id)
}

// boardSize returns the raw bytes board id holds.
func (s *Engine) boardSize(ctx context.Context, id string) (int64, error) {
	if n, ok := s.sizes.get(id, s.now(), s.Shared()); ok {
		return n, nil
	}
	v, err, _ := s.loads.Do("size:"+id, func() (any, error) {
		var n int64
		for _, prefix := range []string{rawPrefix(id), batchPrefix(id)} {
			objs, err := s.store.List(ctx, prefix, "")
			if err != nil {
				s.storeError("list")
				return nil, fmt.Errorf("list raw parts of board %s: %w", id, err)
			}
			for _, o := range objs {
				n += o.Size // (a batch object counts whole: framing and all)
			}
		}
		s.sizes.set(id, n, s.now())
		return n, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}
