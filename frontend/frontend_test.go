package frontend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// requireBuilt fails when dist/ holds no build: `make test` builds first.
func requireBuilt(t *testing.T) *bundle {
	t.Helper()
	b := theBundle()
	if !b.built {
		t.Fatal("frontend not built: run `make build` (or `cd frontend && npm ci && npm run build`) before go test")
	}
	return b
}

func render(t *testing.T, name string, data PageData) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Page(&buf, name, data); err != nil {
		t.Fatalf("Page(%q): %v", name, err)
	}
	return buf.String()
}

var assetRef = regexp.MustCompile(`(?:src|href)="/static/([^"]+)"`)

func TestPagesReferenceHashedAssets(t *testing.T) {
	requireBuilt(t)
	h := http.StripPrefix(StaticPrefix, Static())
	hashed := regexp.MustCompile(`^app-[A-Z0-9]{8}\.(js|css)$`)
	for _, name := range []string{"home", "board", "notfound"} {
		html := render(t, name, PageData{BoardID: "abc123", Title: "My <board>"})
		refs := assetRef.FindAllStringSubmatch(html, -1)
		if len(refs) == 0 {
			t.Fatalf("%s page references no asset:\n%s", name, html)
		}
		for _, m := range refs {
			if !hashed.MatchString(m[1]) {
				t.Errorf("%s page: asset %q has no content hash", name, m[1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/"+m[1], nil))
			if rec.Code != 200 {
				t.Fatalf("GET /static/%s: %d", m[1], rec.Code)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("GET /static/%s: Cache-Control %q", m[1], cc)
			}
			ct := rec.Header().Get("Content-Type")
			if strings.HasSuffix(m[1], ".js") && !strings.Contains(ct, "javascript") {
				t.Errorf("%s: Content-Type %q", m[1], ct)
			}
			if strings.HasSuffix(m[1], ".css") && !strings.HasPrefix(ct, "text/css") {
				t.Errorf("%s: Content-Type %q", m[1], ct)
			}
			if rec.Body.Len() == 0 {
				t.Errorf("%s: empty body", m[1])
			}
		}
	}
}

func TestPageContent(t *testing.T) {
	requireBuilt(t)
	home := render(t, "home", PageData{})
	for _, want := range []string{"tbhost serve", "tbhost upload ./logs --name", "--server", "--watch"} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	board := render(t, "board", PageData{BoardID: "b1", Title: `<script>alert(1)</script>`})
	if strings.Contains(board, "<script>alert(1)") {
		t.Error("board title is not escaped")
	}
	for _, want := range []string{`id="runs"`, `id="run-filter"`, `id="tabs"`, `data-board-id="b1"`, `id="copy-link"`} {
		if !strings.Contains(board, want) {
			t.Errorf("board page lacks %s", want)
		}
	}
	nf := render(t, "notfound", PageData{BoardID: "nope"})
	for _, want := range []string{"404", "Board not found", "nope"} {
		if !strings.Contains(nf, want) {
			t.Errorf("notfound page lacks %q", want)
		}
	}
	if err := Page(io.Discard, "nosuchpage", PageData{}); err == nil {
		t.Error("Page with an unknown name: no error")
	}
}

func TestStaticErrors(t *testing.T) {
	requireBuilt(t)
	h := http.StripPrefix(StaticPrefix, Static())
	for _, p := range []string{"/static/nope.js", "/static/", "/static/.gitkeep", "/static/../frontend.go", "/static/app.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/static/manifest.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	// the manifest is served but not cached forever: its name has no hash
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/manifest.json", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("manifest.json: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}

func TestStaticGzipAndETag(t *testing.T) {
	b := requireBuilt(t)
	h := http.StripPrefix(StaticPrefix, Static())
	req := httptest.NewRequest("GET", "/static/"+b.js, nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, b.assets[b.js].body) {
		t.Fatalf("gzipped body differs from the asset (err %v)", err)
	}
	etag := rec.Header().Get("ETag")
	req = httptest.NewRequest("GET", "/static/"+b.js, nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	req = httptest.NewRequest("HEAD", "/static/"+b.css, nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// A clone where the build has not run compiles and says so.
func TestNotBuilt(t *testing.T) {
	b := load(fstest.MapFS{".gitkeep": {}})
	if b.built {
		t.Fatal("empty dist reported as built")
	}
	for _, name := range []string{"home", "board", "notfound"} {
		var buf bytes.Buffer
		if err := b.page(&buf, name, PageData{BoardID: "x"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "frontend not built: run make build") {
			t.Errorf("%s page does not say the frontend is not built", name)
		}
		if strings.Contains(buf.String(), "/static/") {
			t.Errorf("%s page references assets that do not exist", name)
		}
	}
	rec := httptest.NewRecorder()
	b.static().ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	if rec.Code != 404 {
		t.Errorf("static without a build: %d", rec.Code)
	}
	// a manifest naming files that are missing is not a build either
	b = load(fstest.MapFS{"manifest.json": {Data: []byte(`{"app.js":"app-X.js","app.css":"app-Y.css"}`)}})
	if b.built {
		t.Error("manifest without files reported as built")
	}
}
