// Package files installs a task's secrets and configs with the owner and mode a Swarm service
// asks for. Kubernetes sets a mode per file of a Secret or ConfigMap volume but never an owner
// (only fsGroup's group, for the whole pod), so a file that must belong to, say, uid 999 is
// copied by an init container — the operator's own binary, `manager install-files` — into a
// memory-backed emptyDir, as the Docker engine writes each secret into a tmpfs, then chowns and
// chmods it (moby daemon/container_operations_unix.go, setupSecretDir).
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Command is the manager's sub-command that installs the files:
//
//	manager install-files FROM TO ITEM...
const Command = "install-files"

// Item is one file to install: From (relative to the source directory, where Kubernetes
// projects the Secret or ConfigMap) copied to To (relative to the target directory, the
// emptyDir the task mounts), owned by UID:GID, with Mode.
type Item struct {
	From     string
	UID, GID int64
	Mode     fs.FileMode
	To       string
	// Template: the file is a golang template, rendered for the task (Render).
	Template bool
}

// String is the item as one argument of the command: FROM:UID:GID:MODE:TO, the mode in octal.
// To comes last, so that it may hold colons.
func (i Item) String() string {
	s := fmt.Sprintf("%s:%d:%d:%04o:%s", i.From, i.UID, i.GID, uint32(i.Mode), i.To)
	if i.Template {
		s = templateItemPrefix + s // golang=FROM:…; FROM is the operator's name, never with a =
	}
	return s
}

// Parse reads an item written by String.
func Parse(s string) (Item, error) {
	written := s
	s, tmpl := strings.CutPrefix(s, templateItemPrefix)
	parts := strings.SplitN(s, ":", 5)
	if len(parts) != 5 {
		return Item{}, fmt.Errorf("item %q: want FROM:UID:GID:MODE:TO", s)
	}
	uid, err1 := strconv.ParseInt(parts[1], 10, 64)
	gid, err2 := strconv.ParseInt(parts[2], 10, 64)
	mode, err3 := strconv.ParseUint(parts[3], 8, 32)
	if err := errors.Join(err1, err2, err3); err != nil || uid < 0 || gid < 0 || mode > 0o777 {
		return Item{}, fmt.Errorf("item %q: the uid and gid must be numbers and the mode octal, at most 0777", s)
	}
	it := Item{From: parts[0], UID: uid, GID: gid, Mode: fs.FileMode(mode), To: parts[4], Template: tmpl}
	s = written
	for _, p := range []string{it.From, it.To} {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			return Item{}, fmt.Errorf("item %q: %q must be a clean relative path", s, p)
		}
	}
	return it, nil
}

// Install copies each item from the directory from to the directory to. A file is written,
// chmodded while it still belongs to root, then given to its owner: the init container needs
// only CAP_CHOWN. A file left by an earlier run of the init container (the pod's sandbox was
// made again) is replaced.
func Install(from, to string, items []Item) error {
	for _, it := range items {
		if err := install(from, filepath.Join(from, it.From), filepath.Join(to, it.To), it); err != nil {
			return fmt.Errorf("installing %s: %w", it.To, err)
		}
	}
	return nil
}

func install(from, src, dst string, it Item) error {
	var in io.Reader
	if it.Template {
		text, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		out, err := Render(string(text), os.Getenv, from)
		if err != nil {
			return fmt.Errorf("failed to expand templated file: %w", err)
		}
		in = bytes.NewReader(out)
	} else {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(dst, it.Mode); err != nil {
		return err
	}
	return os.Lchown(dst, int(it.UID), int(it.GID))
}

// Main runs the command with its arguments (after the command's name) and returns the exit
// code.
func Main(args []string, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintf(stderr, "usage: manager %s FROM TO FROM:UID:GID:MODE:TO...\n", Command)
		return 2
	}
	items := make([]Item, 0, len(args)-2)
	for _, a := range args[2:] {
		it, err := Parse(a)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", Command, err)
			return 2
		}
		items = append(items, it)
	}
	if err := Install(args[0], args[1], items); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Command, err)
		return 1
	}
	return 0
}
