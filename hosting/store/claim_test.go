package store_test

import (
	"strings"
	"testing"

	"tbhost/hosting/kind"
	"tbhost/hosting/store"
)

// A directory is served by one server alone, or by servers that all say
// they share it: a second claim the other way fails with a sentence.
func TestDirClaim(t *testing.T) {
	tests := []struct {
		name          string
		first, second bool // shared?
		ok            bool
		says          string
	}{
		{"alone, then alone", false, false, false, "--shared"},
		{"alone, then shared", false, true, false, "believes it is alone"},
		{"shared, then alone", true, false, false, "--shared"},
		{"shared, then shared", true, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a, err := store.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, err := store.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			release, err := a.Claim(tt.first)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := b.Claim(tt.second)
			if tt.ok {
				if err != nil {
					t.Fatalf("second claim: %v", err)
				}
				r2()
			} else if kind.Of(err) != kind.Conflict || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("second claim: %v; want a Conflict saying %q", err, tt.says)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			r3, err := b.Claim(tt.second) // free again once released
			if err != nil {
				t.Fatalf("claim after release: %v", err)
			}
			r3()
		})
	}
}
