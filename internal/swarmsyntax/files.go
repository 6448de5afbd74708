package swarmsyntax

import (
	"bytes"
	"fmt"
	"maps"
)

// OnlyLabels is swarmkit's answer to an update of a secret or config that changes anything but
// its labels (moby/swarmkit manager/controlapi/secret.go UpdateSecret, config.go UpdateConfig,
// an InvalidArgument error): a secret's or config's content is fixed when it is created.
const OnlyLabels = "only updates to Labels are allowed"

// FileChangeError is Swarm's refusal of a new content for an existing secret or config, with
// the practice that replaces it: rotation under a new name.
type FileChangeError struct {
	// Kind is "secret" or "config"; Name is the name the user gave it (the compose key, or the
	// docker name).
	Kind, Name string
}

func (e *FileChangeError) Error() string {
	return fmt.Sprintf("%s: a %s's content never changes once it is created; rotate it under a new name: "+
		"give the new content to a new %s (e.g. %s_v2), point the services at it (source: %s_v2, target: %s keeps the file where it was), "+
		"deploy, then remove the old one", OnlyLabels, e.Kind, e.Kind, e.Name, e.Name, e.Name)
}

// CheckFileUpdate applies Swarm's rule to an existing secret or config whose files (by key) are
// old and would become updated: only its labels may change. It returns a *FileChangeError when
// the content differs.
func CheckFileUpdate(kind, name string, old, updated map[string][]byte) error {
	if maps.EqualFunc(old, updated, bytes.Equal) {
		return nil
	}
	return &FileChangeError{Kind: kind, Name: name}
}
