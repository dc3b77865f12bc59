package main

import (
	"context"
	"errors"
)

func (m *Main) list(ctx context.Context, args []string) error {
	return errors.New("list: not implemented yet")
}
