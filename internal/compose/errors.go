package compose

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with the compose files, located as precisely as the loader allows: the file
// (or files, when it cannot be told which of several merged files holds the key), the service or
// top-level object, and the key within it.
type Error struct {
	// File is the compose file, as the user named it; several are joined with ", ".
	File string
	// Kind is "service", "network", "volume", "secret" or "config"; empty for file-level errors.
	Kind string
	// Name is the service's (or object's) compose name.
	Name string
	// Key is the compose key, e.g. "ports" or "deploy.resources.limits.cpus".
	Key string
	// Err is what is wrong.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Kind != "" {
		fmt.Fprintf(&b, "%s %q: ", e.Kind, e.Name)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// fieldError is an error of one key of a service or object, before the file is known.
func fieldError(key string, format string, args ...any) error {
	return &Error{Key: key, Err: fmt.Errorf(format, args...)}
}

// locate fills in the file, kind and name of the errors in err (a single *Error, an errors.Join
// of them, or any other error) and keeps the rest.
func locate(err error, kind, name string, fileOf func(kind, name, key string) string) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, locate(e, kind, name, fileOf))
		}
		return errors.Join(errs...)
	}
	var ce *Error
	if errors.As(err, &ce) {
		out := *ce
		if out.Kind == "" {
			out.Kind, out.Name = kind, name
		}
		if out.File == "" {
			out.File = fileOf(out.Kind, out.Name, out.Key)
		}
		return &out
	}
	return &Error{File: fileOf(kind, name, ""), Kind: kind, Name: name, Err: err}
}
