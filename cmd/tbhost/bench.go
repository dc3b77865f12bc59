package main

import (
	"context"
	"errors"
)

func (m *Main) bench(ctx context.Context, args []string) error {
	return errors.New("bench: not implemented yet")
}
