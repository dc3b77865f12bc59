package main

import (
	"context"
	"errors"
)

func (m *Main) inspect(ctx context.Context, args []string) error {
	return errors.New("inspect: not implemented yet")
}
