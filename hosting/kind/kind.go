// Package kind is tbhost's error vocabulary: every error a request can
// meet has a Kind, and Status is the one table from kind to HTTP status.
// It is a leaf: the store, the engine and the HTTP packages all speak it.
package kind

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error for the API; each kind has one HTTP status.
type Kind int

// The error kinds. The zero value is Internal.
const (
	Internal Kind = iota
	Invalid
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	Unavailable
	// UnsupportedEncoding: a request body in an encoding the server does
	// not read (the client may send it again plain).
	UnsupportedEncoding
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[Kind]int{
	Internal:     http.StatusInternalServerError,
	Invalid:      http.StatusBadRequest,
	Unauthorized: http.StatusUnauthorized,
	Forbidden:    http.StatusForbidden,
	NotFound:     http.StatusNotFound,
	Conflict:     http.StatusConflict,
	TooLarge:     http.StatusRequestEntityTooLarge,
	Unavailable:  http.StatusServiceUnavailable,

	UnsupportedEncoding: http.StatusUnsupportedMediaType,
}

// Error is an error with a kind and a message meant for the API's user.
type Error struct {
	Kind    Kind
	Message string
	// Offset, on an upload gap, is the offset the server expects next.
	Offset *int64
	Err    error // the underlying error, if any
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message. A %w verb
// wraps its operand as the underlying error.
func Errorf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Of returns the kind of the first *Error in err's chain, or Internal.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Status returns the HTTP status for err.
func Status(err error) int { return statusOf[Of(err)] }
