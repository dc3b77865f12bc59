package tensorboard

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/graphs"
	"tbhost/hosting/kind"
	"tbhost/hosting/web"
)

// TensorBoard's graphs plugin routes (graphs_plugin.py): info lists what
// each run holds; graph and run_metadata answer protobuf text, as
// TensorBoard prints it.

// pbtxtType is the content type of TensorBoard's protobuf text answers.
const pbtxtType = "text/x-protobuf; charset=utf-8"

func (s *API) tbGraphsInfo(c *gin.Context) error {
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	c.JSON(http.StatusOK, graphs.Info(runs))
	return nil
}

// tbGraph answers ?run=&tag=&conceptual=true|false, with TensorBoard's
// limit_attr_size and large_attrs_key.
func (s *API) tbGraph(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	run, tag := c.Query("run"), c.Query("tag")
	if run == "" {
		return kind.Errorf(kind.Invalid, `query parameter "run" is required`)
	}
	limit := 0
	if v, ok := c.GetQuery("limit_attr_size"); ok {
		if limit, err = strconv.Atoi(v); err != nil {
			return kind.Errorf(kind.Invalid, "query parameter `limit_attr_size` must be an integer")
		}
		if limit <= 0 {
			return kind.Errorf(kind.Invalid, "limit_attr_size must be > 0, but is %d", limit)
		}
	}
	r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, run)
	if err != nil {
		return err
	}
	if web.NotModified(c, b, r) {
		return nil
	}
	g, err := graphs.Graph(r, tag, c.Query("conceptual") == "true")
	if err != nil {
		return err
	}
	if limit > 0 {
		if err := graphs.LimitAttrs(g, limit, c.Query("large_attrs_key")); err != nil {
			return err
		}
	}
	c.Data(http.StatusOK, pbtxtType, graphs.Text(g))
	return nil
}

// tbRunMetadata answers the RunMetadata of ?run=&tag= as protobuf text.
func (s *API) tbRunMetadata(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	run, tag := c.Query("run"), c.Query("tag")
	if tag == "" {
		return kind.Errorf(kind.Invalid, `query parameter "tag" is required`)
	}
	if run == "" {
		return kind.Errorf(kind.Invalid, `query parameter "run" is required`)
	}
	r, err := s.h.Engine.FindRun(c.Request.Context(), b.ID, run)
	if err != nil {
		return err
	}
	if web.NotModified(c, b, r) {
		return nil
	}
	rm, err := graphs.RunMetadata(r, tag)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, pbtxtType, graphs.Text(rm))
	return nil
}
