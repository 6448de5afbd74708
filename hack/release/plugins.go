package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The plugin's binaries: kubectl-swarm, and kubectl-swarm-convert, which kubectl runs for
// `kubectl swarm convert` when it is on the PATH (the longest matching plugin name wins).
const (
	pluginBinary  = "kubectl-swarm"
	convertBinary = "kubectl-swarm-convert"
)

// pluginDocs are the files at the module root an archive carries beside the binaries, when
// present (krew's index wants a license in every archive).
var pluginDocs = []string{"LICENSE", "README.md"}

// exe is the executable suffix on os.
func exe(os string) string {
	if os == "windows" {
		return ".exe"
	}
	return ""
}

// archiveName is the plugin archive of one platform: tar.gz, zip on Windows, where it is what
// the system opens.
func archiveName(version string, p v1.Platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", pluginBinary, version, p.OS, p.Architecture, ext)
}

// archiveFile is one member of a plugin archive.
type archiveFile struct {
	Name string
	Mode int64
	// Path is where its contents are read from.
	Path string
}

// pluginFiles are the members of one platform's archive: both binaries and the docs found.
func pluginFiles(p v1.Platform, binDir, root string) ([]archiveFile, error) {
	files := []archiveFile{
		{Name: pluginBinary + exe(p.OS), Mode: 0o755, Path: filepath.Join(binDir, pluginBinary+exe(p.OS))},
		{Name: convertBinary + exe(p.OS), Mode: 0o755, Path: filepath.Join(binDir, convertBinary+exe(p.OS))},
	}
	for _, d := range pluginDocs {
		path := filepath.Join(root, d)
		switch _, err := os.Stat(path); {
		case err == nil:
			files = append(files, archiveFile{Name: d, Mode: 0o644, Path: path})
		case !os.IsNotExist(err):
			return nil, fmt.Errorf("reading %s: %w", d, err)
		}
	}
	return files, nil
}

// writeArchive writes files to path as a tar.gz, or a zip when path ends in .zip. Members are in
// name order with fixed times, owner and modes, so the same files give the same bytes.
func writeArchive(path string, files []archiveFile, epoch time.Time) error {
	files = append([]archiveFile(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(path, ".zip") {
		err = writeZip(&buf, files, epoch)
	} else {
		err = writeTarGz(&buf, files, epoch)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeTarGz(w io.Writer, files []archiveFile, epoch time.Time) error {
	// gzip's header carries no name and no time: the bytes depend on the contents alone.
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Mode:     f.Mode,
			Size:     int64(len(data)),
			ModTime:  epoch,
			Uname:    "root",
			Gname:    "root",
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing the tar header of %s: %w", f.Name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("writing %s to the tar: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("closing the tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("closing the gzip stream: %w", err)
	}
	return nil
}

func writeZip(w io.Writer, files []archiveFile, epoch time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		hdr := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: epoch.UTC()}
		hdr.SetMode(os.FileMode(f.Mode))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("writing the zip header of %s: %w", f.Name, err)
		}
		if _, err := fw.Write(data); err != nil {
			return fmt.Errorf("writing %s to the zip: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("closing the zip: %w", err)
	}
	return nil
}

// sha256File is the hex SHA-256 of a file's contents.
func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checksumsName is sha256sum's output over the release's files: `sha256sum -c checksums.txt`
// checks a download.
const checksumsName = "checksums.txt"

// writeChecksums writes dir/checksums.txt over every regular file directly in dir (archives,
// install.yaml, the krew manifest, a chart's .tgz), in name order.
func writeChecksums(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing the release files: %w", err)
	}
	var b strings.Builder
	for _, de := range des { // ReadDir sorts by name
		if !de.Type().IsRegular() || de.Name() == checksumsName {
			continue
		}
		sum, err := sha256File(filepath.Join(dir, de.Name()))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, de.Name())
	}
	if err := os.WriteFile(filepath.Join(dir, checksumsName), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", checksumsName, err)
	}
	return nil
}
