package hosting

import "github.com/gin-gonic/gin"

func (s *Server) getHParams(c *gin.Context) error { return nil }
func (s *Server) tensorboardRoutes(r *gin.Engine) {}
