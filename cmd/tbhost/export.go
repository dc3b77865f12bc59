package main

import (
	"context"
	"errors"
)

func (m *Main) export(ctx context.Context, args []string) error {
	return errors.New("export: not implemented yet")
}
