package engine

import (
	"strings"
	"testing"

	"tbhost/hosting/kind"
)

func TestCleanRun(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: "."},
		{in: ".", want: "."},
		{in: "train", want: "train"},
		{in: "./sweep//lr=0.1/", want: "sweep/lr=0.1"},
		{in: `a\b`, want: `a\b`}, // a backslash is part of the folder's name
		{in: `run with spaces\and backslash`, want: `run with spaces\and backslash`},
		{in: `..\..\etc`, want: `..\..\etc`}, // one segment, not a parent
		{in: "/etc/passwd", bad: true},
		{in: `C:\logs`, bad: true},
		{in: "a/../b", bad: true},
		{in: "..", bad: true},
		{in: "a\x00b", bad: true},
		{in: "a\nb", bad: true},
		{in: strings.Repeat("x", maxRunLen+1), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanRun(tt.in)
			if tt.bad {
				if kind.Of(err) != kind.Invalid {
					t.Fatalf("CleanRun(%q) = %q, %v; want an Invalid error", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanRun(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// Segments come back from the store as the names they escape (Children).
func TestEscapeSegmentRoundTrip(t *testing.T) {
	for _, name := range []string{"events.out.tfevents.1.host", `a\b`, "lr=0.1,bs=32", ".hidden", "ü ñ", "x~y", strings.Repeat("long", 60)} {
		seg := escapeSegment(name)
		if strings.ContainsAny(seg, "/") || len(seg) > maxSegment || strings.HasPrefix(seg, ".") {
			t.Errorf("escapeSegment(%q) = %q: not one short segment", name, seg)
		}
		if hashedSegment(seg) != (len(name) > 150) {
			t.Errorf("escapeSegment(%q) = %q: hashed %v", name, seg, hashedSegment(seg))
		}
	}
}
