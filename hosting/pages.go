package hosting

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"tbhost/frontend"
	"tbhost/hosting/kind"
)

// pageRoutes serves the embedded frontend: the home page, the board page
// and the hashed static assets.
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
