package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// notesBoard makes a board with the given runs (one small event file
// each) on e and returns its id and write token.
func notesBoard(t *testing.T, e *Engine, runs ...string) (id, token string) {
	t.Helper()
	ctx := context.Background()
	b, sec, err := e.CreateBoard(ctx, BoardSpec{Name: "notes"})
	if err != nil {
		t.Fatal(err)
	}
	data := scalarFile(t, "loss", 10)
	for _, run := range runs {
		if _, err := e.Append(ctx, b.ID, run, "events.out.tfevents.1", 0, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.ID, sec.Token
}

func ptr[T any](v T) *T { return &v }

// Annotate refuses what the API contract refuses, with the kind that
// picks the HTTP status and a sentence that says what is wrong.
func TestAnnotateRefusals(t *testing.T) {
	e, err := New(Config{Store: store.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	id, token := notesBoard(t, e, "train")
	tests := []struct {
		name     string
		token    string
		run      string
		edit     AnnotationEdit
		kind     kind.Kind
		sentence string
	}{
		{"no token", "", "train", AnnotationEdit{Note: ptr("x")}, kind.Unauthorized, "write token"},
		{"wrong token", "not-the-token", "train", AnnotationEdit{Note: ptr("x")}, kind.Forbidden, "not the one"},
		{"note over 64 KiB", token, "train", AnnotationEdit{Note: ptr(strings.Repeat("a", MaxNoteBytes+1))}, kind.TooLarge, "at most 65536 bytes (64 KiB)"},
		{"NUL in the note", token, "train", AnnotationEdit{Note: ptr("a\x00b")}, kind.Invalid, "NUL"},
		{"note not UTF-8", token, "train", AnnotationEdit{Note: ptr("a\xffb")}, kind.Invalid, "UTF-8"},
		{"a run the board lacks", token, "eval/other", AnnotationEdit{Baseline: ptr(true)}, kind.NotFound, `"eval/other"`},
		{"no run", token, "", AnnotationEdit{Baseline: ptr(true)}, kind.Invalid, "?run="},
		{"nothing to change", token, "train", AnnotationEdit{}, kind.Invalid, "nothing to change"},
		{"a board that does not exist", token, "train", AnnotationEdit{Note: ptr("x")}, kind.NotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			board := id
			if tt.name == "a board that does not exist" {
				board = "AAAAAAAAAAAAAAAAAAAAAA"
			}
			_, _, err := e.Annotate(context.Background(), board, tt.token, tt.run, tt.edit)
			if kind.Of(err) != tt.kind || err == nil || !strings.Contains(err.Error(), tt.sentence) {
				t.Errorf("error %v (kind %v), want kind %v saying %q", err, kind.Of(err), tt.kind, tt.sentence)
			}
		})
	}
	// A note of exactly 64 KiB is taken.
	if _, a, err := e.Annotate(context.Background(), id, token, "train", AnnotationEdit{Note: ptr(strings.Repeat("a", MaxNoteBytes))}); err != nil || len(a.Note) != MaxNoteBytes {
		t.Errorf("a note of 64 KiB: %v", err)
	}
}

// Notes and baseline marks are set, kept apart, cleared, and name the
// run as the board knows it; every change moves the generation and a
// change to nothing writes nothing.
func TestAnnotateSetAndClear(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	st := store.NewMem()
	e, err := New(Config{Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	id, token := notesBoard(t, e, "train", "eval")
	get := func() *Annotations {
		t.Helper()
		a, err := e.Annotations(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := get(); a.Gen() != 0 || len(a.Runs) != 0 {
		t.Fatalf("a new board has annotations %+v (gen %d)", a.Runs, a.Gen())
	}
	steps := []struct {
		run      string
		edit     AnnotationEdit
		wantRun  string
		want     map[string]Annotation // Updated left out
		newWrite bool
	}{
		{"./train", AnnotationEdit{Note: ptr("**lr** 0.1")}, "train", map[string]Annotation{"train": {Note: "**lr** 0.1"}}, true},
		{"train", AnnotationEdit{Baseline: ptr(true)}, "train", map[string]Annotation{"train": {Note: "**lr** 0.1", Baseline: true}}, true},
		{"eval", AnnotationEdit{Baseline: ptr(true)}, "eval", map[string]Annotation{"train": {Note: "**lr** 0.1", Baseline: true}, "eval": {Baseline: true}}, true},
		{"train", AnnotationEdit{Baseline: ptr(true)}, "train", map[string]Annotation{"train": {Note: "**lr** 0.1", Baseline: true}, "eval": {Baseline: true}}, false},
		{"train", AnnotationEdit{Note: ptr("")}, "train", map[string]Annotation{"train": {Baseline: true}, "eval": {Baseline: true}}, true},
		{"eval", AnnotationEdit{Baseline: ptr(false)}, "eval", map[string]Annotation{"train": {Baseline: true}}, true},
	}
	for i, s := range steps {
		before := get().Gen()
		clock.Advance(time.Second)
		run, got, err := e.Annotate(ctx, id, token, s.run, s.edit)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if run != s.wantRun {
			t.Errorf("step %d: run %q, want %q", i, run, s.wantRun)
		}
		if w := s.want[s.wantRun]; got.Note != w.Note || got.Baseline != w.Baseline {
			t.Errorf("step %d: answered %+v, want %+v", i, got, w)
		}
		a := get()
		if moved := a.Gen() != before; moved != s.newWrite {
			t.Errorf("step %d: generation %d → %d; a write was due: %t", i, before, a.Gen(), s.newWrite)
		}
		if len(a.Runs) != len(s.want) {
			t.Errorf("step %d: annotations %+v, want %+v", i, a.Runs, s.want)
		}
		for run, w := range s.want {
			g := a.Of(run)
			if g.Note != w.Note || g.Baseline != w.Baseline {
				t.Errorf("step %d: run %s: %+v, want %+v", i, run, g, w)
			}
			if s.newWrite && run == s.wantRun && !g.Updated.Equal(clock.Now().UTC()) {
				t.Errorf("step %d: run %s updated %v, want %v", i, run, g.Updated, clock.Now())
			}
		}
	}
	// The object in the store is the contract's JSON.
	data, _, err := st.Get(ctx, annotationsKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"runs": {`) || !strings.Contains(string(data), `"baseline": true`) || strings.Contains(string(data), `"note"`) {
		t.Errorf("stored annotations:\n%s", data)
	}
}

// Two engines on one store (two servers): what one writes, the other
// serves once its cached copy is older than the cache TTL; and a store no
// other server writes is never read again.
func TestAnnotationsFollowTheCacheTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	st := store.NewMem()
	newEngine := func(ttl time.Duration) *Engine {
		e, err := New(Config{Store: st, Now: clock.Now, CacheTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEngine(2*time.Second), newEngine(2*time.Second)
	id, token := notesBoard(t, a, "train")
	note := func(e *Engine) string {
		t.Helper()
		n, err := e.Annotations(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return n.Of("train").Note
	}
	if got := note(b); got != "" {
		t.Fatalf("b: note %q before any", got)
	}
	if _, _, err := a.Annotate(ctx, id, token, "train", AnnotationEdit{Note: ptr("first")}); err != nil {
		t.Fatal(err)
	}
	if got := note(a); got != "first" {
		t.Errorf("a sees its own write as %q", got)
	}
	if got := note(b); got != "" {
		t.Errorf("b within the TTL: %q, want its cached copy (no note)", got)
	}
	clock.Advance(2 * time.Second)
	if got := note(b); got != "first" {
		t.Errorf("b after the TTL: %q, want %q", got, "first")
	}
	// An edit through b starts from the store, not from b's cache.
	if _, _, err := b.Annotate(ctx, id, token, "train", AnnotationEdit{Baseline: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Annotations(ctx, id); err != nil || got.Of("train") != (Annotation{Note: "first", Baseline: true, Updated: clock.Now().UTC()}) {
		t.Errorf("b after its edit: %+v, %v", got.Of("train"), err)
	}
}

// Edits racing through two engines on each store all land: each of 8
// runs gets a note through one engine and a baseline mark through the
// other, all at once.
func TestAnnotateRacesAllLand(t *testing.T) {
	for _, sc := range compactStores() {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.new(t)
			engines := make([]*Engine, 2)
			for i := range engines {
				e, err := New(Config{Store: st})
				if err != nil {
					t.Fatal(err)
				}
				engines[i] = e
			}
			var runs []string
			for i := range 8 {
				runs = append(runs, fmt.Sprintf("run%d", i))
			}
			id, token := notesBoard(t, engines[0], runs...)
			start := make(chan struct{})
			errs := make(chan error, 2*len(runs))
			var wg sync.WaitGroup
			for i, run := range runs {
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					_, _, err := engines[i%2].Annotate(ctx, id, token, run, AnnotationEdit{Note: ptr("note of " + run)})
					errs <- err
				}()
				go func() {
					defer wg.Done()
					<-start
					_, _, err := engines[(i+1)%2].Annotate(ctx, id, token, run, AnnotationEdit{Baseline: ptr(true)})
					errs <- err
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			fresh, err := New(Config{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			a, err := fresh.Annotations(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			lost := 0
			for _, run := range runs {
				if got := a.Of(run); got.Note != "note of "+run || !got.Baseline {
					lost++
					t.Errorf("run %s: %+v", run, got)
				}
			}
			if lost > 0 {
				t.Errorf("%d of %d runs lost an edit", lost, len(runs))
			}
		})
	}
}

// DeleteBoard removes the annotations with the board: deleteObjects
// lists everything under boards/<id>/, annotations.json included.
func TestDeleteBoardRemovesAnnotations(t *testing.T) {
	ctx := context.Background()
	st := store.NewMem()
	// A store only this server writes: the delete has no grace to wait
	// out, and takes board.json with it at once.
	e, err := New(Config{Store: st, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	id, token := notesBoard(t, e, "train")
	if _, _, err := e.Annotate(ctx, id, token, "train", AnnotationEdit{Note: ptr("gone soon")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, annotationsKey(id)); err != nil {
		t.Fatalf("annotations were not stored: %v", err)
	}
	if err := e.DeleteBoard(ctx, id, token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, annotationsKey(id)); kind.Of(err) != kind.NotFound {
		t.Errorf("annotations after the delete: %v, want not found", err)
	}
	if objs, err := st.List(ctx, boardPrefix(id), ""); err != nil || len(objs) != 0 {
		t.Errorf("objects left of the deleted board: %v %v", objs, err)
	}
	_, _, err = e.Annotate(ctx, id, token, "train", AnnotationEdit{Note: ptr("again")})
	if kind.Of(err) != kind.NotFound {
		t.Errorf("annotating a deleted board: %v, want not found", err)
	}
	if _, _, err := st.Get(ctx, annotationsKey(id)); kind.Of(err) != kind.NotFound {
		t.Errorf("annotating a deleted board stored annotations: %v", err)
	}
}
