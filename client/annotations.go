package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// AnnotationsFile is the file beside the raw event files in which tbhost
// export writes a board's annotations, and from which tbhost upload of
// such a folder brings them back.
const AnnotationsFile = "tbhost-annotations.json"

// Annotations are a board's run notes and baseline marks, as the server
// stores them (boards/<id>/annotations.json) and as AnnotationsFile holds
// them.
type Annotations struct {
	Runs map[string]Annotation `json:"runs"`
}

// Annotation is one run's note (Markdown) and baseline mark.
type Annotation struct {
	Note     string    `json:"note,omitempty"`
	Baseline bool      `json:"baseline,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
}

// AnnotationPatch is the body of Annotate; nil fields are left as they
// are, and an empty note clears the note.
type AnnotationPatch struct {
	Note     *string `json:"note,omitempty"`
	Baseline *bool   `json:"baseline,omitempty"`
}

// RunAnnotation is the answer of Annotate: the run's note, rendered as
// sanitised HTML too, and its baseline mark after the change.
type RunAnnotation struct {
	Run      string `json:"run"`
	Note     string `json:"note"`
	NoteHTML string `json:"note_html"`
	Baseline bool   `json:"baseline"`
}

// Annotate changes the note or the baseline mark of one run of a board
// (PATCH /api/boards/<id>/annotations?run=RUN), with the write token.
func (c *Client) Annotate(ctx context.Context, id, token, run string, p AnnotationPatch) (*RunAnnotation, error) {
	body, n, err := jsonBody(p)
	if err != nil {
		return nil, err
	}
	var out RunAnnotation
	err = c.doJSON(ctx, &request{method: http.MethodPatch, path: boardPath(id) + "/annotations", query: url.Values{"run": {run}},
		token: token, body: body, length: n, contentType: "application/json"}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Annotations returns a board's annotations (GET /api/boards/<id>/annotations).
func (c *Client) Annotations(ctx context.Context, id string) (*Annotations, error) {
	return c.annotations(ctx, id, "")
}

// annotations reads a board's annotations with token as the bearer ("":
// the client's view key or read token).
func (c *Client) annotations(ctx context.Context, id, token string) (*Annotations, error) {
	var out Annotations
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/annotations", token: token, read: true}, &out); err != nil {
		return nil, err
	}
	if out.Runs == nil {
		out.Runs = map[string]Annotation{}
	}
	return &out, nil
}

// lacksAnnotations reports whether err is the answer of a server that has
// no annotations routes (one older than them).
func lacksAnnotations(err error) bool {
	s := StatusOf(err)
	return s == http.StatusNotFound || s == http.StatusMethodNotAllowed
}

// ReadAnnotationsFile reads dir/AnnotationsFile; nil and no error when
// the folder has none.
func ReadAnnotationsFile(dir string) (*Annotations, error) {
	p := filepath.Join(dir, AnnotationsFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a Annotations
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s is not the JSON tbhost export writes: %w", p, err)
	}
	return &a, nil
}

// writeAnnotationsFile writes a board's annotations into the export folder.
func writeAnnotationsFile(root *os.Root, a *Annotations) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(root, AnnotationsFile, bytes.NewReader(append(data, '\n')))
}

// exportAnnotations writes the board's annotations to AnnotationsFile
// below root and returns how many runs they annotate (none: no file). A
// server without annotations has none to export.
func (c *Client) exportAnnotations(ctx context.Context, root *os.Root, id string) (int, error) {
	a, err := c.Annotations(ctx, id)
	if lacksAnnotations(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the run notes and baselines: %w", err)
	}
	if len(a.Runs) == 0 {
		return 0, nil
	}
	if err := writeAnnotationsFile(root, a); err != nil {
		return 0, fmt.Errorf("writing %s: %w", AnnotationsFile, err)
	}
	return len(a.Runs), nil
}

// applyAnnotations brings the annotations of the log dir's AnnotationsFile
// (an exported board's) to the board, once the pass has sent the files:
// each run's note and baseline mark, for the runs the board has no
// annotation of yet, so that the owner's later edits on the board stand
// when the same folder is uploaded again. A run the board does not have
// is skipped with a warning. It is done once per Uploader.
func (u *Uploader) applyAnnotations(ctx context.Context, s *Summary) error {
	if u.annotated {
		return nil
	}
	want, err := ReadAnnotationsFile(u.Dir)
	if err != nil || want == nil {
		u.annotated = err == nil
		return err
	}
	have, err := u.Client.annotations(ctx, u.Board, u.Token)
	if lacksAnnotations(err) {
		u.warn(s, fileKey{}, "annotations", "%s: this server keeps no run notes or baselines; they were not sent", AnnotationsFile)
		u.annotated = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the board's run notes and baselines: %w", err)
	}
	runs := make([]string, 0, len(want.Runs))
	for run := range want.Runs {
		runs = append(runs, run)
	}
	sort.Strings(runs)
	for _, run := range runs {
		a := want.Runs[run]
		if h := have.Runs[run]; (a.Note == "" && !a.Baseline) || h.Note != "" || h.Baseline {
			continue
		}
		p := AnnotationPatch{Baseline: &a.Baseline}
		if a.Note != "" {
			p.Note = &a.Note
		}
		if _, err := u.Client.Annotate(ctx, u.Board, u.Token, run, p); err != nil {
			if IsNotFound(err) {
				u.warn(s, fileKey{run: run}, "annotation", "%s: the board has no run %q: its note and baseline mark were not sent", AnnotationsFile, run)
				continue
			}
			return fmt.Errorf("sending the note and baseline mark of run %s: %w", run, err)
		}
	}
	u.annotated = true
	return nil
}
