package hosting

import (
	"net/http"
	"sort"
	"time"

	"tbhost/hosting/engine"
	"tbhost/hosting/hparams"
	"tbhost/hosting/kind"
	"tbhost/hosting/web"

	"github.com/gin-gonic/gin"
)

// BoardInfo is a board as the API shows it.
type BoardInfo struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Private     bool      `json:"private"`
	Runs        int       `json:"runs"`
	Size        int64     `json:"size"`
	Live        bool      `json:"live"`
	// Token and ViewKey are set only in the answer that creates them.
	Token   string `json:"token,omitempty"`
	ViewKey string `json:"view_key,omitempty"`
}

// liveWindow: a board that took bytes this recently shows as live.
const liveWindow = 30 * time.Second

func (s *Server) createBoard(c *gin.Context) error {
	if err := s.eng.CheckUploadToken(web.Bearer(c)); err != nil {
		return err
	}
	var spec engine.BoardSpec
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&spec); err != nil {
			return kind.Errorf(kind.Invalid, "the body must be JSON {\"name\", \"description\", \"private\"}: %v", err)
		}
	}
	b, sec, err := s.eng.CreateBoard(c.Request.Context(), spec)
	if err != nil {
		return err
	}
	info := s.boardInfo(c, b, nil)
	info.Token, info.ViewKey = sec.Token, sec.ViewKey
	c.JSON(http.StatusCreated, info)
	return nil
}

func (s *Server) boardInfo(c *gin.Context, b *engine.Board, runs []*engine.Run) BoardInfo {
	info := BoardInfo{ID: b.ID, URL: web.BoardURL(c, b.ID), Name: b.Name, Description: b.Description, Created: b.Created, Updated: b.Updated, Private: b.Private, Runs: len(runs)}
	var last int64
	for _, r := range runs {
		for _, f := range r.Digest().Files {
			info.Size += f.Size
		}
		last = max(last, r.Digest().UpdatedUnixNano)
	}
	if last > 0 {
		t := time.Unix(0, last).UTC()
		if t.After(info.Updated) {
			info.Updated = t
		}
		info.Live = s.eng.Now().Sub(t) < liveWindow
	}
	return info
}

func (s *Server) getBoard(c *gin.Context) error {
	b, err := s.h.ReadableBoard(c)
	if err != nil {
		return err
	}
	runs, err := s.eng.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, s.boardInfo(c, b, runs))
	return nil
}

func (s *Server) updateBoard(c *gin.Context) error {
	var edit engine.BoardEdit
	if err := c.ShouldBindJSON(&edit); err != nil {
		return kind.Errorf(kind.Invalid, "the body must be JSON {\"name\", \"description\", \"private\", \"rotate_view_key\"}: %v", err)
	}
	b, key, err := s.eng.UpdateBoard(c.Request.Context(), c.Param("id"), web.Bearer(c), edit)
	if err != nil {
		return err
	}
	runs, err := s.eng.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	info := s.boardInfo(c, b, runs)
	info.ViewKey = key
	c.JSON(http.StatusOK, info)
	return nil
}

func (s *Server) deleteBoard(c *gin.Context) error {
	if err := s.eng.DeleteBoard(c.Request.Context(), c.Param("id"), web.Bearer(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// FileInfo is one uploaded event file.
type FileInfo struct {
	Run  string `json:"run"`
	File string `json:"file"`
	Size int64  `json:"size"`
}

func (s *Server) listFiles(c *gin.Context) error {
	b, err := s.h.WritableBoard(c)
	if err != nil {
		return err
	}
	runs, err := s.eng.Runs(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	files := []FileInfo{}
	for _, r := range runs {
		for name, f := range r.Digest().Files {
			files = append(files, FileInfo{Run: r.Name(), File: name, Size: f.Size})
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].Run != files[j].Run {
			return files[i].Run < files[j].Run
		}
		return files[i].File < files[j].File
	})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"files": files})
	return nil
}
func (s *Server) getHParams(c *gin.Context) error {
	_, runs, done, err := s.h.ReadableRuns(c)
	if err != nil || done {
		return err
	}
	t, err := hparams.Read(runs)
	if err != nil {
		return err
	}
	out := make(map[string]hparams.SessionInfo, len(t.Rows))
	for _, r := range t.Rows {
		out[r.Run] = r.Row
	}
	ans := gin.H{"runs": out, "columns": t.Columns}
	if t.Experiment != nil {
		ans["experiment"] = t.Experiment
	}
	c.JSON(http.StatusOK, ans)
	return nil
}
