package hosting

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

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

// boardURL is the permanent URL of a board, absolute when the request
// tells the host (X-Forwarded-Proto is honoured behind a proxy).
func boardURL(c *gin.Context, id string) string {
	path := "/experiment/" + id + "/"
	if c == nil || c.Request.Host == "" {
		return path
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	if p := c.GetHeader("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + c.Request.Host + path
}

type createRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Private     bool   `json:"private"`
}

func (s *Server) createBoard(c *gin.Context) error {
	if s.cfg.UploadToken != "" {
		t := bearer(c)
		if t == "" {
			return Errorf(Unauthorized, "this server needs an upload token to create boards (--upload-token or TBHOST_UPLOAD_TOKEN on the client)")
		}
		if !secretMatches(t, hashSecret(s.cfg.UploadToken)) {
			return Errorf(Forbidden, "the upload token is wrong")
		}
	}
	var req createRequest
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&req); err != nil {
			return Errorf(Invalid, "the body must be JSON {\"name\", \"description\", \"private\"}: %v", err)
		}
	}
	if err := validateNameDesc(req.Name, req.Description); err != nil {
		return err
	}
	id, err := newBoardID()
	if err != nil {
		return err
	}
	token, err := newSecret(32)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	b := &boardMeta{ID: id, Name: req.Name, Description: req.Description, Created: now, Updated: now, Private: req.Private, TokenHash: hashSecret(token)}
	var key string
	if req.Private {
		if key, err = newSecret(24); err != nil {
			return err
		}
		b.ViewKeyHash = hashSecret(key)
	}
	if err := s.saveBoard(c.Request.Context(), b); err != nil {
		return err
	}
	info := s.boardInfo(c, b, nil)
	info.Token, info.ViewKey = token, key
	c.JSON(http.StatusCreated, info)
	return nil
}

func (s *Server) boardInfo(c *gin.Context, b *boardMeta, runs []*runState) BoardInfo {
	info := BoardInfo{ID: b.ID, URL: boardURL(c, b.ID), Name: b.Name, Description: b.Description, Created: b.Created, Updated: b.Updated, Private: b.Private, Runs: len(runs)}
	var last int64
	for _, r := range runs {
		for _, f := range r.d.Files {
			info.Size += f.Size
		}
		last = max(last, r.d.UpdatedUnixNano)
	}
	if last > 0 {
		t := time.Unix(0, last).UTC()
		if t.After(info.Updated) {
			info.Updated = t
		}
		info.Live = s.now().Sub(t) < liveWindow
	}
	return info
}

func (s *Server) getBoard(c *gin.Context) error {
	b, err := s.readableBoard(c)
	if err != nil {
		return err
	}
	runs, err := s.boardRuns(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, s.boardInfo(c, b, runs))
	return nil
}

func (s *Server) updateBoard(c *gin.Context) error {
	b, err := s.writableBoard(c)
	if err != nil {
		return err
	}
	var edit BoardEdit
	if err := c.ShouldBindJSON(&edit); err != nil {
		return Errorf(Invalid, "the body must be JSON {\"name\", \"description\", \"private\", \"rotate_view_key\"}: %v", err)
	}
	nb := *b
	if edit.Name != nil {
		nb.Name = *edit.Name
	}
	if edit.Description != nil {
		nb.Description = *edit.Description
	}
	if err := validateNameDesc(nb.Name, nb.Description); err != nil {
		return err
	}
	if edit.Private != nil {
		nb.Private = *edit.Private
	}
	var key string
	if nb.Private && (edit.RotateViewKey || nb.ViewKeyHash == "") {
		if key, err = newSecret(24); err != nil {
			return err
		}
		nb.ViewKeyHash = hashSecret(key)
	}
	nb.Updated = s.now().UTC()
	if err := s.saveBoard(c.Request.Context(), &nb); err != nil {
		return err
	}
	runs, err := s.boardRuns(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	info := s.boardInfo(c, &nb, runs)
	info.ViewKey = key
	c.JSON(http.StatusOK, info)
	return nil
}

func (s *Server) deleteBoard(c *gin.Context) error {
	b, err := s.writableBoard(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	objs, err := s.store.List(ctx, boardPrefix(b.ID), "")
	if err != nil {
		return fmt.Errorf("list board %s: %w", b.ID, err)
	}
	// board.json last, so a failed delete can be retried with the token.
	sort.SliceStable(objs, func(i, j int) bool { return objs[j].Key == boardKey(b.ID) })
	for _, o := range objs {
		if err := s.store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	s.cache.dropBoard(b.ID)
	s.dropWriters(b.ID)
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
	b, err := s.writableBoard(c)
	if err != nil {
		return err
	}
	runs, err := s.boardRuns(c.Request.Context(), b.ID)
	if err != nil {
		return err
	}
	files := []FileInfo{}
	for _, r := range runs {
		for name, f := range r.d.Files {
			files = append(files, FileInfo{Run: r.d.Run, File: name, Size: f.Size})
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

// boardSize is the raw bytes a board holds.
func (s *Server) boardSize(ctx context.Context, id string) (int64, error) {
	keys, err := s.runKeys(ctx, id)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, k := range keys {
		if w := s.writerOf(k); w != nil {
			n += w.held.Load() // no snapshot, and no wait for an append in progress
			continue
		}
		r, err := s.loadRun(ctx, k, false)
		if err != nil {
			return 0, err
		}
		n += r.size
	}
	return n, nil
}
