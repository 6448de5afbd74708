package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// rowStore is the mysql stand-in's table: one row a line in a file under DATA_DIR. What matters
// to the tests is that rows outlive the task, on the volume Swarm (and kubeswarm) gives
// /var/lib/mysql, so every append is synced before it is acknowledged.
type rowStore struct {
	mu   sync.Mutex
	path string
}

// add appends row and returns how many rows the table holds.
func (s *rowStore) add(row string) (n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return 0, fmt.Errorf("creating data directory: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("opening rows: %w", err)
	}
	defer func() {
		if closeErr := f.Close(); closeErr != nil && err == nil {
			err = fmt.Errorf("closing rows: %w", closeErr)
		}
	}()
	if _, err := f.WriteString(row + "\n"); err != nil {
		return 0, fmt.Errorf("appending row: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("syncing rows: %w", err)
	}
	rows, err := s.read()
	return len(rows), err
}

// all returns the rows in the order they were added; none when the table was never written.
func (s *rowStore) all() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read()
}

func (s *rowStore) read() ([]string, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading rows: %w", err)
	}
	text := strings.TrimRight(string(b), "\n")
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}
