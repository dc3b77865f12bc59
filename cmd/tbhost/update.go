package main

import (
	"context"
	"errors"
)

func (m *Main) update(ctx context.Context, args []string) error {
	return errors.New("update: not implemented yet")
}
