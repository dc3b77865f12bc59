package hosting

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/graphs"
	"tbhost/hosting/kind"
	"tbhost/hosting/web"
)

// getGraph answers GET /api/boards/:id/graph?run=RUN[&tag=TAG][&conceptual=true]:
// the graph as the page draws it (graphs.View: nodes with op, inputs,
// device and short attributes; the library's functions). Without tag it
// is the run graph; with conceptual=true the Keras model of tag; else the
// op graph of tag's run metadata. A corrupt graph is a 400, one of more
// than graphs.MaxViewNodes nodes a 413, each with a sentence saying so.
func (s *Server) getGraph(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	if c.Query("run") == "" {
		return kind.Errorf(kind.Invalid, "give the graph as ?run=RUN (and &tag=TAG for a tagged or Keras graph)")
	}
	r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, c.Query("run"))
	if err != nil {
		return err
	}
	if web.NotModified(c, b, r) {
		return nil
	}
	return s.h.Answers.JSON(c, web.ETag(c, b, r), func() ([]byte, error) {
		g, err := graphs.Graph(r, c.Query("tag"), c.Query("conceptual") == "true")
		if err != nil {
			return nil, err
		}
		v, err := graphs.NewView(g, graphs.MaxViewNodes)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
}
