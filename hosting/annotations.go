package hosting

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
	"tbhost/hosting/markdown"
	"tbhost/hosting/web"
)

// maxAnnotationBody bounds the body of an annotation edit: a note of the
// largest size, written with JSON escapes, fits.
const maxAnnotationBody = 1 << 20

// RunAnnotation is the answer of PATCH /api/boards/:id/annotations: the
// run's note and baseline mark after the edit.
type RunAnnotation struct {
	Run      string `json:"run"`
	Note     string `json:"note"`
	NoteHTML string `json:"note_html"` // the note rendered as descriptions are: Markdown, sanitised
	Baseline bool   `json:"baseline"`
}

// noteHTML renders a run's note for the page ("" for none).
func noteHTML(note string) string {
	if note == "" {
		return ""
	}
	return markdown.ToHTML(note)
}

// annotateRun is PATCH /api/boards/:id/annotations?run=RUN with a JSON
// body {"note"?: string, "baseline"?: bool}, presented with the write
// token.
func (s *Server) annotateRun(c *gin.Context) error {
	var edit engine.AnnotationEdit
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAnnotationBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&edit); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return kind.Errorf(kind.TooLarge, "the body is over %d bytes; a run's note may have at most %d bytes (64 KiB)", maxAnnotationBody, engine.MaxNoteBytes)
		}
		return kind.Errorf(kind.Invalid, "the body must be JSON {\"note\": \"<markdown>\", \"baseline\": true|false} (either or both): %v", err)
	}
	run, a, err := s.eng.Annotate(c.Request.Context(), c.Param("id"), web.Bearer(c), c.Query("run"), edit)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, RunAnnotation{Run: run, Note: a.Note, NoteHTML: noteHTML(a.Note), Baseline: a.Baseline})
	return nil
}

// getAnnotations is GET /api/boards/:id/annotations: the board's
// annotations as stored ({"runs": {"<run>": {"note", "baseline",
// "updated"}}}), what tbhost export writes to tbhost-annotations.json.
func (s *Server) getAnnotations(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	notes, err := s.eng.Annotations(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	etag := notesETag(web.ETag(c, b), notes)
	if c.Request.Method == http.MethodGet && web.NotModifiedETag(c, b, etag) {
		return nil
	}
	return s.h.Answers.JSON(c, etag, func() ([]byte, error) { return json.Marshal(notes) })
}

// notesETag extends the ETag of an answer that also shows annotations with
// their generation, so that the answer's version changes with them.
func notesETag(etag string, notes *engine.Annotations) string {
	return etag[:len(etag)-1] + "-n" + strconv.FormatInt(notes.Gen(), 10) + `"`
}
