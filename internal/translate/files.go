package translate

import (
	"fmt"
	"strconv"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// FileOwner is the uid and gid a secret or config belongs to.
type FileOwner struct{ UID, GID int64 }

// Root tells whether the file belongs to root (0:0).
func (o FileOwner) Root() bool { return o == FileOwner{} }

// FileOwners reads the uid and gid of each reference; empty is docker's default "0" (docker/cli
// cli/compose/convert/service.go, convertFileObject).
func FileOwners(field string, refs []swarmv1.FileReference) ([]FileOwner, error) {
	out := make([]FileOwner, len(refs))
	for i, ref := range refs {
		for _, id := range []struct {
			name, value string
			to          *int64
		}{{"uid", ref.UID, &out[i].UID}, {"gid", ref.GID, &out[i].GID}} {
			if id.value == "" {
				continue
			}
			n, err := strconv.ParseInt(id.value, 10, 32)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s[%d].%s: %q is not a numeric id", field, i, id.name, id.value)
			}
			*id.to = n
		}
	}
	return out, nil
}

// filesRule refuses a uid or gid that is not a number and reports the files that stay root's
// because the operator has no files image to install them with.
func filesRule(svc *swarmv1.Service, opts Options) (notes []string, _ error) {
	for _, field := range []struct {
		name string
		refs []swarmv1.FileReference
	}{{"secrets", svc.Spec.Secrets}, {"configs", svc.Spec.Configs}} {
		owners, err := FileOwners(field.name, field.refs)
		if err != nil {
			return nil, err
		}
		for i, owner := range owners {
			if !owner.Root() && !opts.InstallsFile(owner) {
				notes = append(notes, fmt.Sprintf("%s[%d]: the file of %s belongs to root, not %d:%d: the operator has no files image to install it with (manager --files-image)", field.name, i, field.refs[i].Source, owner.UID, owner.GID))
			}
		}
	}
	return notes, nil
}

// InstallsFile tells whether the operator installs a secret or config of owner itself (an init
// container of its files image, internal/files): Kubernetes cannot give a projected file an
// owner, and root's files need no installing.
func (o Options) InstallsFile(owner FileOwner) bool { return o.FilesImage != "" && !owner.Root() }
