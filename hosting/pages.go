package hosting

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"tbhost/frontend"
	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
)

// pageRoutes serves the embedded frontend: the home page, the board page,
// the compare page (the board page showing several boards) and the hashed
// static assets.
func (s *Server) pageRoutes(r *gin.Engine) {
	static := http.StripPrefix("/static/", frontend.Static())
	r.GET("/static/*path", gin.WrapH(static))
	r.HEAD("/static/*path", gin.WrapH(static))
	r.GET("/", s.h.Handle(func(c *gin.Context) error {
		return renderPage(c, http.StatusOK, "home", frontend.PageData{Title: "tbhost"})
	}))
	r.GET("/experiment/:id", func(c *gin.Context) {
		c.Redirect(http.StatusMovedPermanently, "/experiment/"+c.Param("id")+"/")
	})
	r.GET("/experiment/:id/", s.h.Handle(s.boardPage))
	r.GET("/compare/:ids", func(c *gin.Context) {
		c.Redirect(http.StatusMovedPermanently, "/compare/"+c.Param("ids")+"/"+queryOf(c))
	})
	r.GET("/compare/:ids/", s.h.Handle(s.comparePage))
}

// queryOf is the request's query with its "?" ("" when it has none).
func queryOf(c *gin.Context) string {
	if q := c.Request.URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}

// Boards one compare page shows.
const (
	minCompare = 2
	maxCompare = 8
)

// comparePage serves /compare/<id1>,<id2>[,...]/: the board page in
// compare mode, showing the runs of several boards together. Only the
// ids' shape is checked here: a board that is missing, or private with a
// wrong or absent ?key.<id>=, is named on the page by its script, and the
// other boards still show.
func (s *Server) comparePage(c *gin.Context) error {
	ids, err := compareIDs(c.Param("ids"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	return renderPage(c, http.StatusOK, "board", frontend.PageData{
		Title: fmt.Sprintf("Comparing %d boards", len(ids)), Mode: "compare", BoardIDs: ids})
}

// compareIDs reads the comma-separated board ids of a compare link.
func compareIDs(param string) ([]string, error) {
	ids := strings.Split(param, ",")
	if len(ids) < minCompare || len(ids) > maxCompare {
		return nil, kind.Errorf(kind.Invalid, "a comparison shows %d to %d boards: give their ids separated by commas, as /compare/<id1>,<id2>/ (got %d)", minCompare, maxCompare, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !engine.ValidID(id) {
			return nil, kind.Errorf(kind.Invalid, "%q is not a board id: a board id is the 22 characters after /experiment/ in a board's link", id)
		}
		if seen[id] {
			return nil, kind.Errorf(kind.Invalid, "board %s is named twice in the comparison", id)
		}
		seen[id] = true
	}
	return ids, nil
}

func (s *Server) boardPage(c *gin.Context) error {
	b, err := s.h.Engine.Board(c.Request.Context(), c.Param("id"))
	if kind.Of(err) == kind.NotFound {
		return renderPage(c, http.StatusNotFound, "notfound", frontend.PageData{BoardID: c.Param("id"), Title: "Board not found", Status: http.StatusNotFound})
	}
	if err != nil {
		return err
	}
	// A private board's page loads; its data calls need the key in the URL.
	c.Header("Cache-Control", "no-cache")
	return renderPage(c, http.StatusOK, "board", frontend.PageData{BoardID: b.ID, Title: b.Name})
}

func renderPage(c *gin.Context, status int, name string, data frontend.PageData) error {
	var buf bytes.Buffer
	if err := frontend.Page(&buf, name, data); err != nil {
		return err
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	return nil
}
