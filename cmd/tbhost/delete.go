package main

import (
	"context"
	"errors"
)

func (m *Main) delete(ctx context.Context, args []string) error {
	return errors.New("delete: not implemented yet")
}
