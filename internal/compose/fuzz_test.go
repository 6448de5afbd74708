package compose

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"
)

// FuzzConvert: whatever the bytes of a compose file, Load and Convert return (a result or an
// error) and never panic. The seed corpus is every compose file of test/compose.
//
//	go test -fuzz=FuzzConvert -fuzztime=60s ./internal/compose
func FuzzConvert(f *testing.F) {
	logrus.SetOutput(io.Discard) // compose-go's "version is obsolete" and the like
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "docker-compose.yml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		files := []string{path}
		if len(data)%2 == 1 {
			// Half of the inputs are merged with an override, so that the paths that tell
			// which of several files is at fault run too.
			override := filepath.Join(dir, "docker-compose.override.yml")
			if err := os.WriteFile(override, []byte("services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, override)
		}
		p, err := Load(context.Background(), LoadOptions{
			Files:       files,
			Environment: map[string]string{"TAG": "1", "REPLICAS": "2"},
			ProjectName: "fuzz",
		})
		if err != nil {
			return
		}
		r, err := Convert(p, "fuzz", ConvertOptions{})
		if err != nil {
			return
		}
		if r.Stack == nil {
			t.Fatal("no Stack and no error")
		}
		if _, err := r.YAML(); err != nil {
			t.Fatalf("YAML: %v", err)
		}
	})
}
