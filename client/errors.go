package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// APIError is an answer of the server outside 2xx. The server sends JSON
// {"error": "...", "offset": N}; Message and Offset carry those.
type APIError struct {
	Status  int    // HTTP status
	Message string // the server's "error", or a short text when it sent none
	// Offset, on an upload gap (409), is the offset the server expects next.
	Offset *int64
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter time.Duration
	Method     string
	Path       string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("tbhost server answered %d to %s %s: %s", e.Status, e.Method, e.Path, msg)
}

// UnreachableError is a request that did not get an HTTP answer (the server
// is down, the name does not resolve, the connection broke), after retries.
type UnreachableError struct {
	Server string
	Err    error
	// afterHeader: the failure happened while reading the answer's body.
	afterHeader bool
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach tbhost server at %s: %v", e.Server, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of the *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is a 401 or 403 answer: the token or
// view key was refused.
func IsUnauthorized(err error) bool {
	s := StatusOf(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// IsUnreachable reports whether err means the server could not be reached.
func IsUnreachable(err error) bool {
	var e *UnreachableError
	return errors.As(err, &e)
}
