package client

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBoardRef(t *testing.T) {
	tests := []struct {
		ref             string
		server, id, key string
		wantErr         bool
	}{
		{ref: "abc123", id: "abc123"},
		{ref: "http://localhost:6006/experiment/abc123/", server: "http://localhost:6006", id: "abc123"},
		{ref: "https://tb.example.com/experiment/abc123", server: "https://tb.example.com", id: "abc123"},
		{ref: "https://tb.example.com/experiment/abc123/?key=sekret", server: "https://tb.example.com", id: "abc123", key: "sekret"},
		{ref: "https://example.com/tools/tb/experiment/x9/#scalars", server: "https://example.com/tools/tb", id: "x9"},
		{ref: "http://h:1/api/boards/zz/export/raw.tar.gz", server: "http://h:1", id: "zz"},
		{ref: "http://h:1/", wantErr: true},
		{ref: "", wantErr: true},
		{ref: "a/b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			server, id, key, err := ParseBoardRef(tt.ref)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if server != tt.server || id != tt.id || key != tt.key {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", server, id, key, tt.server, tt.id, tt.key)
			}
		})
	}
}

func TestSafeNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"loss", "loss"},
		{"train/loss", "train_loss"},
		{"a b:c*d?", "a_b_c_d_"},
		{"lr=0.1,bs=32", "lr=0.1,bs=32"},
		{"Überlänge", "Überlänge"},
		{"..", "_-"},
		{"", "_-"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := SafeFileName(tt.in)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("SafeFileName(%q) = %q, want %q…", tt.in, got, tt.want)
			}
			if got == "." || got == ".." || strings.ContainsAny(got, `/\`) {
				t.Errorf("SafeFileName(%q) = %q is not a safe name", tt.in, got)
			}
		})
	}
	long := strings.Repeat("x", 500)
	if a, b := SafeFileName(long), SafeFileName(long+"y"); len(a) > maxNameBytes || a == b {
		t.Errorf("long names: %q, %q: want short and distinct", a, b)
	}
	runs := []struct{ in, want string }{{".", "."}, {"a/b", "a/b"}, {"a/../b", "a/_-"}, {"x y/z", "x_y/z"}}
	for _, tt := range runs {
		t.Run("run "+tt.in, func(t *testing.T) {
			if got := SafeRunPath(tt.in); !strings.HasPrefix(got, tt.want) || strings.Contains(got, "..") {
				t.Errorf("SafeRunPath(%q) = %q, want %q…", tt.in, got, tt.want)
			}
		})
	}
}

type entry struct {
	name string
	typ  byte
	body string
	link string
}

func tarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestExtractTarGz(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    map[string]string // files expected below the root
		wantErr string
	}{
		{name: "runs and root run", entries: []entry{
			{name: "train/events.out.tfevents.1", typ: tar.TypeReg, body: "aaa"},
			{name: "./events.out.tfevents.2", typ: tar.TypeReg, body: "bb"},
			{name: "a b/c=1/", typ: tar.TypeDir},
			{name: "a b/c=1/events.out.tfevents.3", typ: tar.TypeReg, body: ""},
		}, want: map[string]string{"train/events.out.tfevents.1": "aaa", "events.out.tfevents.2": "bb", "a b/c=1/events.out.tfevents.3": ""}},
		{name: "links are skipped", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "/etc"},
			{name: "run/events.out.tfevents.1", typ: tar.TypeReg, body: "x"},
		}, want: map[string]string{"run/events.out.tfevents.1": "x"}},
		{name: "dot dot is refused", entries: []entry{{name: "../escape", typ: tar.TypeReg, body: "x"}}, wantErr: "climbs out"},
		{name: "inner dot dot is refused", entries: []entry{{name: "run/../../escape", typ: tar.TypeReg, body: "x"}}, wantErr: "climbs out"},
		{name: "absolute is refused", entries: []entry{{name: "/tmp/escape", typ: tar.TypeReg, body: "x"}}, wantErr: "not a relative path"},
		{name: "a backslash is part of a name", entries: []entry{
			{name: `sweep/run with spaces\and backslash/events.out.tfevents.1`, typ: tar.TypeReg, body: "x"},
			{name: `..\not-a-parent/events.out.tfevents.2`, typ: tar.TypeReg, body: "y"},
		}, want: map[string]string{`sweep/run with spaces\and backslash/events.out.tfevents.1`: "x", `..\not-a-parent/events.out.tfevents.2`: "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			os.Mkdir(dir, 0o755)
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			_, files, _, err := extractTarGz(bytes.NewReader(tarGz(t, tt.entries)), root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
					t.Errorf("a file escaped the export folder")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if files != len(tt.want) {
				t.Errorf("files = %d, want %d", files, len(tt.want))
			}
			for name, body := range tt.want {
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
				if err != nil || string(got) != body {
					t.Errorf("%s = %q, %v; want %q", name, got, err, body)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "evil")); err == nil {
				t.Errorf("a symlink was extracted")
			}
		})
	}
}

func TestExport(t *testing.T) {
	archive := tarGz(t, []entry{
		{name: "train/events.out.tfevents.1", typ: tar.TypeReg, body: "raw-train"},
		{name: "events.out.tfevents.0", typ: tar.TypeReg, body: "raw-root"},
	})
	tags := map[string]any{"runs": map[string]any{
		"train": map[string]any{
			"loss/total": map[string]any{"plugin": "scalars"},
			"loss:total": map[string]any{"plugin": "scalars"}, // same safe name
			"weights":    map[string]any{"plugin": "histograms"},
		},
		".": map[string]any{"acc": map[string]any{"plugin": "scalars"}},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Tbhost-Key") != "vk" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"private"}`)
			return
		}
		switch r.URL.Path {
		case "/api/boards/b1/export/raw.tar.gz":
			w.Write(archive)
		case "/api/boards/b1/tags":
			json.NewEncoder(w).Encode(tags)
		case "/api/boards/b1/export/scalars":
			q := r.URL.Query()
			if q.Get("format") != "csv" {
				w.WriteHeader(400)
				return
			}
			io.WriteString(w, "wall_time,step,value\n1,0,"+q.Get("run")+"|"+q.Get("tag")+"\n")
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "export")

	_, err := New(srv.URL, fastRetry).Export(context.Background(), "b1", dir, ExportOptions{})
	if !IsUnauthorized(err) {
		t.Fatalf("without the key: err = %v, want 401", err)
	}

	res, err := New(srv.URL, fastRetry, WithViewKey("vk")).Export(context.Background(), "b1", dir, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || res.Runs != 2 || res.Series != 3 || res.Bytes != int64(len("raw-train")+len("raw-root")) {
		t.Errorf("result = %+v", res)
	}
	want := map[string]string{
		"train/events.out.tfevents.1": "raw-train",
		"events.out.tfevents.0":       "raw-root",
		"csv/train/loss_total.csv":    "wall_time,step,value\n1,0,train|loss/total\n",
		"csv/train/loss_total~2.csv":  "wall_time,step,value\n1,0,train|loss:total\n",
		"csv/acc.csv":                 "wall_time,step,value\n1,0,.|acc\n",
	}
	for name, body := range want {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil || string(got) != body {
				t.Errorf("%s = %q, %v; want %q", name, got, err, body)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "csv", "train", "weights.csv")); err == nil {
		t.Errorf("a histogram was exported as CSV")
	}
}
