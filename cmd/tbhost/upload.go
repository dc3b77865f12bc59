package main

import (
	"context"
	"errors"
)

func (m *Main) upload(ctx context.Context, args []string) error {
	return errors.New("upload: not implemented yet")
}
