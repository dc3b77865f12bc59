package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting/store"
)

// ErrInjected is the error Faulty returns for the writes it fails.
var ErrInjected = errors.New("storetest: injected write failure")

// Unreachable wraps a Store whose Ping fails, as a bucket out of reach
// does; other calls pass through. It tests readiness checks.
type Unreachable struct{ store.Store }

// Ping reports the store unreachable.
func (Unreachable) Ping(context.Context) error { return errors.New("storetest: bucket unreachable") }

// Faulty wraps a Store and fails its writes (Put, PutIf, Delete) on
// demand, to test what a crash or an outage at each write leaves behind.
// Reads pass through. It is safe for concurrent use. Its Await lets a test
// wait for a condition on the store without polling on a timer.
//
// Writes are counted from 1 in the order they start. The failAt-th write
// fails without reaching the store (0: none fails); with Sticky set, every
// write from the failAt-th on fails, as if the process had died there. With
// After set, a failing write does reach the store and then reports an error
// (a write whose response was lost).
type Faulty struct {
	store.Store

	writes atomic.Int64
	failed atomic.Int64

	// changed holds a token when a write started or ended since Await
	// last looked (capacity 1: writes while it is full coalesce).
	changed     chan struct{}
	changedOnce sync.Once

	mu     sync.Mutex
	failAt int64
	sticky bool
	after  bool
	stall  time.Duration
}

// NewFaulty returns s wrapped to fail its failAt-th write (0: none).
func NewFaulty(s store.Store, failAt int) *Faulty {
	return &Faulty{Store: s, failAt: int64(failAt)}
}

// SetFailAt changes which write fails (counted from the first write the
// Faulty saw, 0 for none) and whether every later write fails too.
func (f *Faulty) SetFailAt(n int, sticky bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.sticky = int64(n), sticky
}

// SetAfter makes failing writes reach the store before reporting an error.
func (f *Faulty) SetAfter(after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after = after
}

// SetStall makes every write wait d (or until its context is done) before
// it proceeds; 0 turns stalling off.
func (f *Faulty) SetStall(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stall = d
}

// Await waits until cond holds, testing it now and again after every
// write the Faulty sees start or end, and fails t (naming what) when d
// passes first. cond should read the store or the Faulty's counts; a
// condition that changes without a write is never seen to change.
func (f *Faulty) Await(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-f.changedC():
		case <-timeout.C:
			t.Fatalf("storetest: still waiting after %v for %s", d, what)
		}
	}
}

func (f *Faulty) changedC() chan struct{} {
	f.changedOnce.Do(func() { f.changed = make(chan struct{}, 1) })
	return f.changed
}

// signal tells Await that a write started or ended.
func (f *Faulty) signal() {
	select {
	case f.changedC() <- struct{}{}:
	default: // a token is already waiting
	}
}

// Writes returns how many writes the Faulty has seen, failed ones included.
func (f *Faulty) Writes() int { return int(f.writes.Load()) }

// Failed returns how many writes the Faulty has failed.
func (f *Faulty) Failed() int { return int(f.failed.Load()) }

// before counts a write, stalls if asked, and says whether it must fail
// and whether the failure comes after the write.
func (f *Faulty) before(ctx context.Context) (fail, after bool, err error) {
	n := f.writes.Add(1)
	f.signal()
	f.mu.Lock()
	failAt, sticky, stall := f.failAt, f.sticky, f.stall
	after = f.after
	f.mu.Unlock()
	if stall > 0 {
		t := time.NewTimer(stall)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, false, ctx.Err()
		}
	}
	fail = failAt > 0 && (n == failAt || sticky && n > failAt)
	if fail {
		f.failed.Add(1)
	}
	return fail, after, nil
}

func injected(op, key string) error {
	return fmt.Errorf("%s %s: %w", op, key, ErrInjected)
}

// Put writes through unless this write is to fail.
func (f *Faulty) Put(ctx context.Context, key string, data []byte) error {
	defer f.signal()
	fail, after, err := f.before(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("put %s: %w", key, err)
	case !fail:
		return f.Store.Put(ctx, key, data)
	case after:
		if err := f.Store.Put(ctx, key, data); err != nil {
			return err
		}
	}
	return injected("put", key)
}

// PutIf writes through unless this write is to fail.
func (f *Faulty) PutIf(ctx context.Context, key string, data []byte, gen int64) (int64, error) {
	defer f.signal()
	fail, after, err := f.before(ctx)
	switch {
	case err != nil:
		return 0, fmt.Errorf("put %s: %w", key, err)
	case !fail:
		return f.Store.PutIf(ctx, key, data, gen)
	case after:
		if _, err := f.Store.PutIf(ctx, key, data, gen); err != nil {
			return 0, err
		}
	}
	return 0, injected("put", key)
}

// Delete deletes through unless this write is to fail.
func (f *Faulty) Delete(ctx context.Context, key string) error {
	defer f.signal()
	fail, after, err := f.before(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("delete %s: %w", key, err)
	case !fail:
		return f.Store.Delete(ctx, key)
	case after:
		if err := f.Store.Delete(ctx, key); err != nil {
			return err
		}
	}
	return injected("delete", key)
}
