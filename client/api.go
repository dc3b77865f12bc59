package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NewBoard is the body of CreateBoard.
type NewBoard struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Private     bool   `json:"private"`
}

// Created is the answer to CreateBoard: the board's id, its URL, the write
// token (shown once: keep it) and, for a private board, the view key.
type Created struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	Token   string `json:"token"`
	ViewKey string `json:"view_key,omitempty"`
}

// Board is a board's metadata.
type Board struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     Timestamp `json:"created"`
	Updated     Timestamp `json:"updated"`
	Private     bool      `json:"private"`
	Runs        Count     `json:"runs"`
	Size        int64     `json:"size"`
	Live        bool      `json:"live"`
	URL         string    `json:"url,omitempty"`
	ViewKey     string    `json:"view_key,omitempty"`
}

// BoardPatch is the body of UpdateBoard; nil fields are left as they are.
type BoardPatch struct {
	Name          *string `json:"name,omitempty"`
	Description   *string `json:"description,omitempty"`
	Private       *bool   `json:"private,omitempty"`
	RotateViewKey bool    `json:"rotate_view_key,omitempty"`
}

// RemoteFile is one file the server holds: Size is the number of bytes it
// has ingested, the offset an upload resumes from.
type RemoteFile struct {
	Run  string `json:"run"`
	File string `json:"file"`
	Size int64  `json:"size"`
}

// AppendResult is the answer to Append.
type AppendResult struct {
	Run  string `json:"run"`
	File string `json:"file"`
	// Size is the number of bytes the server holds: the next offset.
	Size       int64 `json:"size"`
	Records    int64 `json:"records"`
	BadRecords int64 `json:"bad_records,omitempty"`
	Values     int64 `json:"values"`
	Truncated  bool  `json:"truncated,omitempty"` // the file ends inside a record (so far)
	Corrupt    bool  `json:"corrupt,omitempty"`   // framing is lost: later bytes are kept, not read
	// Warnings are the server's notes on the file so far.
	Warnings []string `json:"warnings"`

	// Wire is the size of the body the answered request carried (after
	// compression), and Encoding its Content-Encoding ("" for none).
	Wire     int64  `json:"-"`
	Encoding string `json:"-"`
}

// TagInfo describes one tag of one run.
type TagInfo struct {
	Plugin      string   `json:"plugin"`
	Count       int64    `json:"count"`
	Kept        int64    `json:"kept"`
	MinStep     int64    `json:"min_step"`
	MaxStep     int64    `json:"max_step"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Last        *float64 `json:"last,omitempty"`
	Nonfinite   int64    `json:"nonfinite,omitempty"`
}

// Tags maps run → tag → info.
type Tags map[string]map[string]TagInfo

// Scalars is the answer of the scalars route (downsampled for a chart).
type Scalars struct {
	Points    [][3]Float           `json:"points"`    // [wall, step, value]
	Envelope  [][3]Float           `json:"envelope"`  // [step, min, max]
	Nonfinite [][2]json.RawMessage `json:"nonfinite"` // [step, "NaN"]
	Stats     struct {
		Count int64 `json:"count"`
		Min   Float `json:"min"`
		Max   Float `json:"max"`
		First Float `json:"first"`
		Last  Float `json:"last"`
	} `json:"stats"`
}

// CreateBoard creates a board. Keep the answer's Token: it is the only
// way to write to the board and the server never shows it again.
func (c *Client) CreateBoard(ctx context.Context, b NewBoard) (*Created, error) {
	body, n, err := jsonBody(b)
	if err != nil {
		return nil, err
	}
	var out Created
	err = c.doJSON(ctx, &request{method: http.MethodPost, path: "/api/boards", token: c.uploadToken,
		body: body, length: n, contentType: "application/json"}, &out)
	if err != nil {
		return nil, err
	}
	if out.ID == "" {
		return nil, fmt.Errorf("unexpected answer from tbhost server %s: created a board without an id", c.base)
	}
	out.URL = c.BoardURL(out.ID, out.URL)
	return &out, nil
}

// Health asks the server whether it serves (GET /healthz) or, with ready,
// whether it also reaches its store (GET /readyz). It asks once: a health
// check's caller decides when to ask again.
func (c *Client) Health(ctx context.Context, ready bool) error {
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	resp, err := c.once(ctx, &request{method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Board returns a board's metadata.
func (c *Client) Board(ctx context.Context, id string) (*Board, error) {
	var out Board
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: boardPath(id), read: true}, &out); err != nil {
		return nil, err
	}
	out.URL = c.BoardURL(id, out.URL)
	return &out, nil
}

// UpdateBoard changes a board's metadata and returns the result.
func (c *Client) UpdateBoard(ctx context.Context, id, token string, p BoardPatch) (*Board, error) {
	body, n, err := jsonBody(p)
	if err != nil {
		return nil, err
	}
	var out Board
	err = c.doJSON(ctx, &request{method: http.MethodPatch, path: boardPath(id), token: token,
		body: body, length: n, contentType: "application/json"}, &out)
	if err != nil {
		return nil, err
	}
	out.URL = c.BoardURL(id, out.URL)
	return &out, nil
}

// DeleteBoard deletes a board and everything on it.
func (c *Client) DeleteBoard(ctx context.Context, id, token string) error {
	return c.doJSON(ctx, &request{method: http.MethodDelete, path: boardPath(id), token: token}, nil)
}

// Files returns the files the server holds for a board, with the number of
// bytes of each that it has ingested.
func (c *Client) Files(ctx context.Context, id, token string) ([]RemoteFile, error) {
	var out struct {
		Files []RemoteFile `json:"files"`
	}
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/files", token: token}, &out); err != nil {
		return nil, err
	}
	return out.Files, nil
}

// Append sends n bytes read from body as the bytes of run/file starting at
// offset (n < 0: until body ends). When body is an io.ReadSeeker the
// request is retried per the client's policy, from body's current position;
// otherwise it is sent once. A gap (the server holds fewer bytes than
// offset) comes back as an *APIError with status 409 and Offset set: send
// again from there.
func (c *Client) Append(ctx context.Context, board, token, run, file string, offset int64, body io.Reader, n int64) (*AppendResult, error) {
	if body == nil {
		body = bytes.NewReader(nil)
	}
	var get func() (io.Reader, error)
	if rs, ok := body.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		get = func() (io.Reader, error) {
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
			return limit(rs, n), nil
		}
	} else {
		used := false
		get = func() (io.Reader, error) {
			if used {
				return nil, errNoReplay
			}
			used = true
			return limit(body, n), nil
		}
	}
	q := url.Values{"run": {run}, "file": {file}, "offset": {strconv.FormatInt(offset, 10)}}
	var out AppendResult
	err := c.doJSON(ctx, &request{method: http.MethodPut, path: boardPath(board) + "/files", query: q,
		token: token, body: get, length: n, contentType: "application/octet-stream"}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AppendBytes sends data as the bytes of run/file starting at offset, like
// Append (retried per the client's policy), compressed when the server
// takes compressed bodies (see WithCompression); offset and the answer's
// Size count uncompressed bytes all the same. The answer's Wire and
// Encoding tell what went. data may be reused once AppendBytes returns.
func (c *Client) AppendBytes(ctx context.Context, board, token, run, file string, offset int64, data []byte) (*AppendResult, error) {
	q := url.Values{"run": {run}, "file": {file}, "offset": {strconv.FormatInt(offset, 10)}}
	var out AppendResult
	wire, coding, err := c.doCompressed(ctx, request{method: http.MethodPut, path: boardPath(board) + "/files", query: q,
		token: token, contentType: "application/octet-stream"}, data, &out)
	if err != nil {
		return nil, err
	}
	out.Wire, out.Encoding = wire, coding
	return &out, nil
}

func limit(r io.Reader, n int64) io.Reader {
	if n < 0 {
		return r
	}
	return io.LimitReader(r, n)
}

// Tags returns every tag of every run of a board.
func (c *Client) Tags(ctx context.Context, id string) (Tags, error) {
	var out struct {
		Runs Tags `json:"runs"`
	}
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/tags", read: true}, &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// Scalars returns a scalar series downsampled to width points.
func (c *Client) Scalars(ctx context.Context, id, run, tag string, width int) (*Scalars, error) {
	q := url.Values{"run": {run}, "tag": {tag}}
	if width > 0 {
		q.Set("width", strconv.Itoa(width))
	}
	var out Scalars
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/scalars", query: q, read: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportRaw streams the board's raw event files as a gzipped tar with one
// entry per file at <run>/<file>. The caller closes the reader.
func (c *Client) ExportRaw(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/export/raw.tar.gz", read: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ExportScalars streams one scalar series at full resolution, in format
// "csv" or "json". The caller closes the reader.
func (c *Client) ExportScalars(ctx context.Context, id, run, tag, format string) (io.ReadCloser, error) {
	q := url.Values{"run": {run}, "tag": {tag}, "format": {format}}
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: boardPath(id) + "/export/scalars", query: q, read: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// BoardURL returns the absolute URL of a board's page: u resolved against
// the server when the server gave a relative one, or the usual
// <server>/experiment/<id>/ when it gave none.
func (c *Client) BoardURL(id, u string) string {
	if u == "" {
		u = "/experiment/" + url.PathEscape(id) + "/"
	}
	if strings.Contains(u, "://") {
		return u
	}
	base, err := url.Parse(c.base + "/")
	if err != nil {
		return c.base + u
	}
	ref, err := url.Parse(strings.TrimPrefix(u, "/"))
	if err != nil {
		return c.base + u
	}
	return base.ResolveReference(ref).String()
}

func boardPath(id string) string { return "/api/boards/" + url.PathEscape(id) }

// Timestamp decodes a time sent as an RFC 3339 string or as Unix seconds.
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" || string(b) == `""` {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return t.Time.UnmarshalJSON(b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return t.Time.MarshalJSON()
}

// Count decodes a number, or the length of a list (a server may answer
// "runs" with either).
type Count int

// UnmarshalJSON implements json.Unmarshaler.
func (c *Count) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*c = Count(n)
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err == nil {
		*c = Count(len(list))
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err == nil {
		*c = Count(len(m))
		return nil
	}
	return errors.New("runs: want a number or a list")
}

// Float decodes a JSON number or one of the strings "NaN", "Infinity",
// "-Infinity" (JSON has no literal for them).
type Float float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("number: %q", s)
		}
		*f = Float(v)
		return nil
	}
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
