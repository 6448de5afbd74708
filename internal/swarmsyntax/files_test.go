package swarmsyntax

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckFileUpdate(t *testing.T) {
	for _, tc := range []struct {
		name         string
		old, updated map[string][]byte
		refused      bool
	}{
		{name: "same content", old: map[string][]byte{"db_pass": []byte("s3cr3t")}, updated: map[string][]byte{"db_pass": []byte("s3cr3t")}},
		{name: "both empty", old: map[string][]byte{}, updated: nil},
		{name: "new content", old: map[string][]byte{"db_pass": []byte("s3cr3t")}, updated: map[string][]byte{"db_pass": []byte("other")}, refused: true},
		{name: "another key", old: map[string][]byte{"db_pass": []byte("s3cr3t")}, updated: map[string][]byte{"pass": []byte("s3cr3t")}, refused: true},
		{name: "a key more", old: map[string][]byte{"a": []byte("1")}, updated: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, refused: true},
		{name: "emptied", old: map[string][]byte{"a": []byte("1")}, updated: map[string][]byte{"a": {}}, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFileUpdate("secret", "db_pass", tc.old, tc.updated)
			if !tc.refused {
				if err != nil {
					t.Fatalf("CheckFileUpdate = %v, want nil", err)
				}
				return
			}
			var fc *FileChangeError
			if !errors.As(err, &fc) || fc.Kind != "secret" || fc.Name != "db_pass" {
				t.Fatalf("CheckFileUpdate = %v, want a FileChangeError for secret db_pass", err)
			}
			for _, want := range []string{"only updates to Labels are allowed", "db_pass_v2", "source: db_pass_v2, target: db_pass"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
		})
	}
}
