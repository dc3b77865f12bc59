package web

import (
	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
)

// SeriesRequest loads the board, run and tag a series request names.
func (s *Handlers) SeriesRequest(c *gin.Context) (*engine.Board, *engine.Run, string, error) {
	b, err := s.ReadableBoard(c)
	if err != nil {
		return nil, nil, "", err
	}
	if c.Query("run") == "" || c.Query("tag") == "" {
		return nil, nil, "", kind.Errorf(kind.Invalid, "give the series as ?run=RUN&tag=TAG")
	}
	r, err := s.Engine.FindRun(c.Request.Context(), b.ID, c.Query("run"))
	if err != nil {
		return nil, nil, "", err
	}
	return b, r, c.Query("tag"), nil
}

// PluginItems loads a series and checks it holds the wanted plugin.
func (s *Handlers) PluginItems(c *gin.Context, plugins ...string) (*engine.Board, *engine.Run, []engine.Item, bool, error) {
	b, r, tag, err := s.SeriesRequest(c)
	if err != nil {
		return nil, nil, nil, false, err
	}
	var found bool
	for _, t := range r.Samples().Tags() {
		if t.Tag == tag {
			for _, p := range plugins {
				found = found || t.Plugin == p
			}
			if !found {
				return nil, nil, nil, false, kind.Errorf(kind.NotFound, "tag %q of run %q is %s data, not %s", tag, r.Name(), t.Plugin, plugins[0])
			}
		}
	}
	if !found {
		return nil, nil, nil, false, kind.Errorf(kind.NotFound, "run %q has no tag %q", r.Name(), tag)
	}
	if NotModified(c, b, r) {
		return nil, nil, nil, true, nil
	}
	its, err := r.Items(tag)
	return b, r, its, false, err
}
