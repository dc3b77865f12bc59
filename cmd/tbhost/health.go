package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tbhost/client"
)

const healthUsage = `Usage: tbhost health [flags]

Asks a tbhost server whether it serves (GET /healthz) or, with --ready,
whether it also reaches its store (GET /readyz). It exits 0 when it does
and 1, saying why, when it does not. Container images of tbhost have no
shell: their health check runs this (HEALTHCHECK CMD ["/tbhost", "health"]).

Flags:
`

func (m *Main) health(ctx context.Context, args []string) error {
	fset := m.flagSet("health", healthUsage)
	server := fset.String("server", "", "tbhost server URL (or TBHOST_SERVER; default "+client.DefaultServer+")")
	ready := fset.Bool("ready", false, "ask whether the server also reaches its store (GET /readyz)")
	timeout := fset.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	pos, err := m.parse(fset, args)
	if err != nil {
		return noHelp(err)
	}
	if len(pos) != 0 {
		return m.usageError(fset, "health takes no arguments")
	}
	url := m.serverURL(*server, nil)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	what := "serving"
	if *ready {
		what = "ready"
	}
	if err := client.New(url, client.WithUserAgent("tbhost-health")).Health(ctx, *ready); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("tbhost server at %s is not %s: no answer within %s", url, what, *timeout)
		}
		var ae *client.APIError
		if errors.As(err, &ae) {
			return fmt.Errorf("tbhost server at %s is not %s: %d %s", url, what, ae.Status, firstNonEmpty(ae.Message, "(no message)"))
		}
		if e := explainNet(err, url); e != nil {
			return e
		}
		return err
	}
	fmt.Fprintf(m.Stdout, "tbhost server at %s is %s\n", url, what)
	return nil
}
