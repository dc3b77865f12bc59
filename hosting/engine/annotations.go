package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tbhost/hosting/kind"
)

// Annotations are what a board's owner says about its runs: a Markdown
// note per run, and which runs are baselines (the runs others are
// measured against). A board keeps them in one object,
// boards/<id>/annotations.json, changed only by read-modify-writes that
// are conditional on the generation read (retryConflicts), so that every
// server on the store sees the same annotations and edits racing through
// several servers all land. They are cached like board metadata: a store
// other servers write is read again after the cache TTL. DeleteBoard
// removes them with the rest of the board (they lie under its prefix).
type Annotations struct {
	// Runs maps a run's name (as the board knows it, CleanRun) to its
	// annotation; runs without a note or a baseline mark are absent.
	Runs map[string]Annotation `json:"runs"`

	gen int64 // store generation of the object read (0: none stored)
}

// Annotation is one run's note and baseline mark.
type Annotation struct {
	Note     string    `json:"note,omitempty"`     // Markdown
	Baseline bool      `json:"baseline,omitempty"` // drawn always, in its own style
	Updated  time.Time `json:"updated"`            // the last change
}

// IsZero reports whether a has neither a note nor a baseline mark.
func (a Annotation) IsZero() bool { return a.Note == "" && !a.Baseline }

// Gen is the store generation of the annotations (0 when the board has
// never had any): it changes with every change, so answers that show
// annotations name it in their ETag.
func (a *Annotations) Gen() int64 {
	if a == nil {
		return 0
	}
	return a.gen
}

// Of returns run's annotation (the zero Annotation when it has none).
func (a *Annotations) Of(run string) Annotation {
	if a == nil {
		return Annotation{}
	}
	return a.Runs[run]
}

// Limits on annotations.
const (
	// MaxNoteBytes bounds one run's note.
	MaxNoteBytes = 64 << 10
	// maxAnnotationsBytes bounds a board's annotations object, which every
	// edit reads and writes whole and every runs answer carries.
	maxAnnotationsBytes = 16 << 20
)

// AnnotationEdit is a change of one run's annotation; nil fields are left
// as they are. An empty note clears the note.
type AnnotationEdit struct {
	Note     *string `json:"note"`
	Baseline *bool   `json:"baseline"`
}

func annotationsKey(id string) string { return boardPrefix(id) + "annotations.json" }

type notesEntry struct {
	notes  *Annotations
	loaded time.Time
}

// annotations returns a board's cached annotations while they are fresh.
func (c *cache) annotations(id string, now time.Time) (*Annotations, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.notes.Get(id)
	if ok && c.fresh(e.loaded, now) {
		return e.notes, true
	}
	return nil, false
}

// putAnnotations caches a board's annotations, unless the board was
// deleted or a later generation is cached (a read that began before a
// write finished must not put back what the write replaced).
func (c *cache) putAnnotations(id string, a *Annotations, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone.Contains(id) {
		return
	}
	if old, ok := c.notes.Peek(id); ok && old.notes.gen > a.gen {
		return
	}
	c.notes.Add(id, notesEntry{notes: a, loaded: now})
}

// Annotations returns a board's annotations (none stored: empty, of
// generation 0), from the cache while it is fresh. It checks neither that
// the board exists nor who asks: its callers have read the board.
func (s *Engine) Annotations(ctx context.Context, id string) (*Annotations, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if a, ok := s.cache.annotations(id, s.now()); ok {
		return a, nil
	}
	v, err, _ := s.loads.Do("notes:"+id, func() (any, error) {
		a, err := s.getAnnotations(ctx, id)
		if err != nil {
			return nil, err
		}
		s.cache.putAnnotations(id, a, s.now())
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Annotations), nil
}

// getAnnotations reads annotations.json from the store, decoded afresh
// (an edit may change what it returns).
func (s *Engine) getAnnotations(ctx context.Context, id string) (*Annotations, error) {
	data, gen, err := s.store.Get(ctx, annotationsKey(id))
	if kind.Of(err) == kind.NotFound {
		return &Annotations{Runs: map[string]Annotation{}}, nil
	}
	if err != nil {
		s.storeError("get")
		return nil, fmt.Errorf("read annotations of board %s: %w", id, err)
	}
	a := &Annotations{gen: gen}
	if err := json.Unmarshal(data, a); err != nil {
		return nil, fmt.Errorf("decode annotations of board %s: %w", id, err)
	}
	if a.Runs == nil {
		a.Runs = map[string]Annotation{}
	}
	return a, nil
}

// checkNote refuses a note that is too long or is not text.
func checkNote(note string) error {
	if len(note) > MaxNoteBytes {
		return kind.Errorf(kind.TooLarge, "the note is %d bytes long; a run's note may have at most %d bytes (64 KiB)", len(note), MaxNoteBytes)
	}
	if !utf8.ValidString(note) {
		return kind.Errorf(kind.Invalid, "the note is not valid UTF-8")
	}
	if strings.ContainsRune(note, 0) {
		return kind.Errorf(kind.Invalid, "the note contains a NUL byte")
	}
	return nil
}

// Annotate changes one run's annotation, presented with the board's write
// token. The run must be one of the board's. It returns the run's name as
// the board knows it and the run's annotation after the change. The
// change is applied to the stored annotations as they are when it is
// written: edits of other runs, or of the other field of this run, made
// meanwhile by other servers are kept.
func (s *Engine) Annotate(ctx context.Context, id, token, run string, edit AnnotationEdit) (string, Annotation, error) {
	b, err := s.Board(ctx, id)
	if err != nil {
		return "", Annotation{}, err
	}
	if err := b.CanWrite(token); err != nil {
		return "", Annotation{}, err
	}
	if edit.Note == nil && edit.Baseline == nil {
		return "", Annotation{}, kind.Errorf(kind.Invalid, "nothing to change: give \"note\" (an empty one clears it) or \"baseline\"")
	}
	if edit.Note != nil {
		if err := checkNote(*edit.Note); err != nil {
			return "", Annotation{}, err
		}
	}
	if run == "" {
		return "", Annotation{}, kind.Errorf(kind.Invalid, "which run? give ?run=<run name>")
	}
	r, err := s.FindRun(ctx, id, run)
	if err != nil {
		return "", Annotation{}, err
	}
	name := r.Name()
	// This server's edits of the board's annotations go one at a time
	// (the per-key locks, keyed by the object's store key): racing each
	// other for one object, many would lose again and again. Only edits
	// through other servers race, and retryConflicts re-applies those.
	unlock := s.runs.lock(annotationsKey(id))
	defer unlock()
	var out Annotation
	err = retryConflicts("the annotations of board "+id, func() error {
		a, err := s.getAnnotations(ctx, id)
		if err != nil {
			return err
		}
		cur := a.Runs[name]
		next := cur
		if edit.Note != nil {
			next.Note = *edit.Note
		}
		if edit.Baseline != nil {
			next.Baseline = *edit.Baseline
		}
		if next.Note == cur.Note && next.Baseline == cur.Baseline {
			out = cur // nothing changes: nothing to write
			s.cache.putAnnotations(id, a, s.now())
			return nil
		}
		next.Updated = s.now().UTC()
		if next.IsZero() {
			delete(a.Runs, name)
		} else {
			a.Runs[name] = next
		}
		data, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return fmt.Errorf("encode annotations of board %s: %w", id, err)
		}
		if len(data) > maxAnnotationsBytes && len(next.Note) > len(cur.Note) {
			return kind.Errorf(kind.TooLarge, "the notes of board %s would come to %d bytes; a board's notes may have at most %d bytes (16 MiB): shorten some", id, len(data), maxAnnotationsBytes)
		}
		gen, err := s.store.PutIf(ctx, annotationsKey(id), data, a.gen)
		if err != nil {
			if kind.Of(err) != kind.Conflict {
				s.storeError("put")
			}
			return fmt.Errorf("write annotations of board %s: %w", id, err)
		}
		a.gen = gen
		s.cache.putAnnotations(id, a, s.now())
		out = next
		return nil
	})
	if err != nil {
		return "", Annotation{}, err
	}
	return name, out, nil
}
