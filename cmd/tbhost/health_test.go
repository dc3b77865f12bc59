package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tbhost/hosting"
	"tbhost/hosting/store"
	"tbhost/hosting/store/storetest"
)

// opsServer serves the whole API with its operations endpoints, as serve
// does, on st.
func opsServer(t *testing.T, st store.Store) string {
	t.Helper()
	srv, err := hosting.NewServer(hosting.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv.EnableOps()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestHealth(t *testing.T) {
	up := opsServer(t, store.NewMem())
	storeDown := opsServer(t, storetest.Unreachable{Store: store.NewMem()})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hung.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	tests := []struct {
		name    string
		args    []string
		env     string // TBHOST_SERVER
		ok      bool
		message string // in stdout when ok, in the error when not
	}{
		{"serving", []string{"--server", up}, "", true, "tbhost server at " + up + " is serving"},
		{"ready", []string{"--ready", "--server", up}, "", true, "is ready"},
		{"server from the environment", nil, up, true, "is serving"},
		{"store unreachable, still serving", []string{"--server", storeDown}, "", true, "is serving"},
		{"store unreachable, not ready", []string{"--ready", "--server", storeDown}, "", false, "is not ready: 503"},
		{"no answer", []string{"--server", hung.URL, "--timeout", "200ms"}, "", false, "is not serving: no answer within 200ms"},
		{"server down", []string{"--server", downURL}, "", false, "cannot reach tbhost server at " + downURL},
		{"not a tbhost server", []string{"--server", up + "/nothing"}, "", false, "is not serving: 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := newMachine(t)
			if tt.env != "" {
				mc.env["TBHOST_SERVER"] = tt.env
			}
			r := mc.run(context.Background(), "", append([]string{"health"}, tt.args...)...)
			if tt.ok {
				if r.err != nil || !strings.Contains(r.stdout, tt.message) {
					t.Errorf("got %q, err %v; want success saying %q", r.stdout, r.err, tt.message)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.message) {
				t.Errorf("got err %v; want an error saying %q", r.err, tt.message)
			}
		})
	}
}
