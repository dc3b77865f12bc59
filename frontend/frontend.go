// Package frontend is tbhost's web user interface: the board page that
// draws a board's scalars, histograms, distributions, images, audio, text,
// PR curves and hparams from the native JSON API, the home page that says
// how to upload, and the "board not found" page.
//
// The page is written in TypeScript (src/) and bundled with esbuild into
// dist/ by `npm run build` (the Makefile runs it before `go build`). The
// built files carry a content hash in their names and are embedded in the
// binary; dist/manifest.json maps the logical names (app.js, app.css) to
// the hashed ones. A tree where the build has not run still compiles: its
// pages then only say that the frontend is not built.
//
// The hosting server mounts [Static] at /static/ and renders pages with
// [Page]. The package knows nothing of the server's internals: the page
// talks to the server through its JSON API only.
package frontend

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist
var dist embed.FS

// Assets is the built frontend (the contents of dist/): hashed JS and CSS
// files and manifest.json. It holds only .gitkeep when the frontend has
// not been built.
var Assets fs.FS = mustSub(dist, "dist")

// StaticPrefix is the URL path where the server mounts [Static].
const StaticPrefix = "/static/"

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// asset is one file served by Static, held in memory with its gzipped form.
type asset struct {
	body        []byte
	gz          []byte // nil when compression does not pay
	contentType string
	etag        string
	immutable   bool // the name carries a content hash
}

type bundle struct {
	built  bool
	js     string // hashed file names, relative to StaticPrefix
	css    string
	assets map[string]*asset
}

var (
	loadOnce sync.Once
	loaded   *bundle
)

func theBundle() *bundle {
	loadOnce.Do(func() { loaded = load(Assets) })
	return loaded
}

// load reads the manifest and every file of the built frontend.
func load(fsys fs.FS) *bundle {
	b := &bundle{assets: map[string]*asset{}}
	raw, err := fs.ReadFile(fsys, "manifest.json")
	if err != nil {
		return b
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return b
	}
	hashed := map[string]bool{}
	for _, name := range m {
		hashed[name] = true
	}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		a := &asset{
			body:        body,
			contentType: ct,
			etag:        fmt.Sprintf(`"%x"`, fnv64(body)),
			immutable:   hashed[p],
		}
		if len(body) > 1024 && compressible(ct) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body)*9/10 {
				a.gz = buf.Bytes()
			}
		}
		b.assets[p] = a
		return nil
	})
	b.js, b.css = m["app.js"], m["app.css"]
	b.built = b.assets[b.js] != nil && b.assets[b.css] != nil
	return b
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

// fnv64 is FNV-1a, enough for an ETag of an embedded file.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Static serves the built assets; mount it at /static/ with the prefix
// stripped (http.StripPrefix). Hashed names are sent with
// "Cache-Control: public, max-age=31536000, immutable"; other files
// (manifest.json) with "no-cache". Unknown names get 404. Responses are
// gzipped when the client accepts it.
func Static() http.Handler { return theBundle().static() }

func (b *bundle) static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		a := b.assets[name]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if a.immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		if a.gz != nil {
			h.Add("Vary", "Accept-Encoding")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.body
		if a.gz != nil && AcceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gz
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
}

// AcceptsGzip reports whether the request's Accept-Encoding takes gzip.
func AcceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// PageData is what a page needs.
type PageData struct {
	// BoardID is the board's id (board and notfound pages).
	BoardID string
	// Title is the page title; the board's name on the board page. Empty
	// means a default.
	Title string
	// Status is the HTTP status the server sends with the page, shown on
	// the notfound page (0 means 404 there). Page does not write headers.
	Status int
	// Mode is "" for one board, or "compare" for the board page serving
	// /compare/<id1>,<id2>,.../: BoardIDs then holds the ids, in the
	// link's order (2 to 8 of them, well-formed, not checked to exist).
	Mode     string
	BoardIDs []string
}

// Built reports whether the frontend was built before compiling, that is
// whether the pages can draw anything.
func Built() bool { return theBundle().built }

// Page writes the HTML page named "home" (what tbhost is and how to
// upload), "board" (the board page, served at /experiment/<id>/) or
// "notfound" (an unknown board). It writes the body only: the caller sets
// the status and Content-Type ("text/html; charset=utf-8").
func Page(w io.Writer, name string, data PageData) error { return theBundle().page(w, name, data) }

func (b *bundle) page(w io.Writer, name string, data PageData) error {
	v := pageView{PageData: data, Built: b.built, Static: StaticPrefix}
	if b.built {
		v.JS = StaticPrefix + b.js
		v.CSS = StaticPrefix + b.css
	}
	switch name {
	case "home":
		if v.Title == "" {
			v.Title = "tbhost"
		}
	case "board":
		if v.Title == "" {
			v.Title = "Board " + data.BoardID
		}
	case "notfound":
		if v.Status == 0 {
			v.Status = http.StatusNotFound
		}
		if v.Title == "" {
			v.Title = "Board not found"
		}
	default:
		return fmt.Errorf("frontend: unknown page %q", name)
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type pageView struct {
	PageData
	Built   bool
	JS, CSS string
	Static  string
}
