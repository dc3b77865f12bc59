package engine

import (
	"sync"
)

// runLocks serialises what one run needs serialised: its appends,
// checkpoints and retirement. Each run being written has its own mutex,
// made on demand and forgotten when nobody holds or waits for it, so a
// slow store write of one run holds up no other run or board.
type runLocks struct {
	mu sync.Mutex
	m  map[string]*runMutex
}

type runMutex struct {
	sync.Mutex
	refs int // holders and waiters; guarded by runLocks.mu
}

// lock locks the run whose digest is at key and returns its unlock.
func (l *runLocks) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*runMutex{}
	}
	m := l.m[key]
	if m == nil {
		m = &runMutex{}
		l.m[key] = m
	}
	m.refs++
	l.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		l.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
}

// tryLock locks the run if nobody holds it, and returns its unlock; nil
// when the run is busy.
func (l *runLocks) tryLock(key string) (unlock func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[key] != nil {
		return nil
	}
	if l.m == nil {
		l.m = map[string]*runMutex{}
	}
	m := &runMutex{refs: 1}
	m.Lock()
	l.m[key] = m
	return func() {
		m.Unlock()
		l.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
}

// held reports how many runs have a holder or a waiter (for tests).
func (l *runLocks) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
