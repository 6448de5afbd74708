package files

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/continuity/fs"
)

// A new volume is filled with what the image holds at the mount's target, as the Docker engine
// does when it creates a container (moby daemon/create_unix.go populateVolume,
// daemon/container/container_unix.go copyExistingContents), unless the mount says nocopy. A
// Kubernetes volume starts empty, so an init container of the task's own image does it: the
// image's directory is visible there, and the volume is mounted elsewhere. The image may have no
// shell nor any tool, so the copier is the operator's binary, which a first init container of
// the operator's image (SelfCommand) puts into an emptyDir the second one runs it from
// (CopyUpCommand).
const (
	// SelfCommand copies the running binary into a directory: manager install-self DIR.
	SelfCommand = "install-self"
	// CopyUpCommand fills each empty volume from the image: manager copy-up IMAGEDIR=VOLUME...
	CopyUpCommand = "copy-up"
)

// CopyItem is one volume to fill: the image's directory From (the mount's target) into the
// volume mounted at To.
type CopyItem struct{ From, To string }

// String is the item as one argument of the command: FROM=TO, read back at the last = (To, the
// operator's own path, has none; From, the user's target, may).
func (c CopyItem) String() string { return c.From + "=" + c.To }

// ParseCopyItem reads an item written by String.
func ParseCopyItem(s string) (CopyItem, error) {
	i := strings.LastIndex(s, "=")
	if i < 0 {
		return CopyItem{}, fmt.Errorf("item %q: want IMAGEDIR=VOLUME", s)
	}
	c := CopyItem{From: s[:i], To: s[i+1:]}
	if !path.IsAbs(c.From) || !path.IsAbs(c.To) {
		return CopyItem{}, fmt.Errorf("item %q: both paths must be absolute", s)
	}
	return c, nil
}

// CopyUp fills the volume at to with the image's directory from, keeping owners, modes, times,
// links and extended attributes (containerd's continuity fs.CopyDir, what moby copies with),
// when the image has such a directory and the volume is empty, as moby does: a volume that
// holds anything (an earlier task's data) is left alone, and so is the copy of a task whose init
// container runs again. copied tells whether it copied.
func CopyUp(from, to string) (copied bool, _ error) {
	st, err := os.Stat(from)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !st.IsDir():
		return false, nil // moby copies directories only
	}
	entries, err := os.ReadDir(to)
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, nil
	}
	// moby ignores the extended attributes the volume's file system does not support.
	ignoreUnsupported := func(_, _, _ string, err error) error {
		if errors.Is(err, syscall.ENOTSUP) {
			return nil
		}
		return err
	}
	if err := fs.CopyDir(to, from, fs.WithXAttrErrorHandler(ignoreUnsupported)); err != nil {
		return false, err
	}
	return true, nil
}

// InstallSelf copies the running binary to dir/manager, executable.
func InstallSelf(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	dst := filepath.Join(dir, "manager")
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// SelfMain runs SelfCommand with its arguments and returns the exit code.
func SelfMain(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: manager %s DIR\n", SelfCommand)
		return 2
	}
	if err := InstallSelf(args[0]); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", SelfCommand, err)
		return 1
	}
	return 0
}

// CopyUpMain runs CopyUpCommand with its arguments and returns the exit code.
func CopyUpMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: manager %s IMAGEDIR=VOLUME...\n", CopyUpCommand)
		return 2
	}
	items := make([]CopyItem, 0, len(args))
	for _, a := range args {
		it, err := ParseCopyItem(a)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", CopyUpCommand, err)
			return 2
		}
		items = append(items, it)
	}
	for _, it := range items {
		copied, err := CopyUp(it.From, it.To)
		if err != nil {
			fmt.Fprintf(stderr, "%s: filling the volume at %s from the image: %v\n", CopyUpCommand, it.From, err)
			return 1
		}
		if copied {
			fmt.Fprintf(stdout, "%s: filled the new volume at %s from the image\n", CopyUpCommand, it.From)
		}
	}
	return 0
}
