package main

import (
	"io"
	"strings"
	"testing"
)

// A malformed setting is an error that names it and says what is
// expected; a flag given on the command line overrides its variable.
func TestServeSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string // substrings; none: no error
	}{
		{"defaults", nil, nil, nil},
		{"good env", map[string]string{"TBHOST_CACHE_MB": "512", "TBHOST_FLUSH_INTERVAL": "2s"}, nil, nil},
		{"size with a unit", map[string]string{"TBHOST_CACHE_MB": "1GB"}, nil, []string{`TBHOST_CACHE_MB="1GB"`, "whole number"}},
		{"duration without a unit", map[string]string{"TBHOST_FLUSH_INTERVAL": "5"}, nil, []string{"TBHOST_FLUSH_INTERVAL", "not a duration"}},
		{"two bad", map[string]string{"TBHOST_MAX_BOARD_MB": "lots", "TBHOST_SHUTDOWN_TIMEOUT": "soon"}, nil, []string{"TBHOST_MAX_BOARD_MB", "TBHOST_SHUTDOWN_TIMEOUT"}},
		{"flag overrides a bad variable", map[string]string{"TBHOST_CACHE_MB": "1GB"}, []string{"--cache-mb", "64"}, nil},
		{"unknown log format", nil, []string{"--log-format", "xml"}, []string{"--log-format", "text or json"}},
		{"unknown log format from env", map[string]string{"TBHOST_LOG_FORMAT": "pretty"}, nil, []string{"text or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return tt.env[k] }}
			_, err := m.parseServe(tt.args)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("parseServe: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseServe accepted %v %v", tt.env, tt.args)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
