// Command registry is the real-node cluster's image registry: nothing outside this machine is
// reachable, so the nodes' containerd pull docker.io and kubeswarm.test images from it (it is
// their mirror for both), and a test can push a new image under a tag that is already running
// and see it roll out, as a Swarm user pushes to Docker Hub.
//
//	registry serve --address 10.247.0.10:5000 --dir DIR   serve the registry (blobs on disk)
//	registry push --registry HOST:PORT IMAGES.tar          push every image of a docker archive
//
// Pushing drops the registry part of a name: docker.io/library/nginx:latest is pushed as
// HOST:PORT/library/nginx:latest and kubeswarm.test/web:1 as HOST:PORT/web:1, the paths a
// containerd mirror asks for.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		addr := fs.String("address", "127.0.0.1:5000", "address to listen on")
		dir := fs.String("dir", "", "directory for the blobs (required)")
		_ = fs.Parse(os.Args[2:])
		if *dir == "" {
			usage()
		}
		err = serve(*addr, *dir)
	case "push":
		fs := flag.NewFlagSet("push", flag.ExitOnError)
		reg := fs.String("registry", "", "HOST:PORT of the registry (required)")
		_ = fs.Parse(os.Args[2:])
		if *reg == "" || fs.NArg() != 1 {
			usage()
		}
		err = push(context.Background(), *reg, fs.Arg(0), os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: registry serve --address ADDR --dir DIR | registry push --registry HOST:PORT IMAGES.tar")
	os.Exit(2)
}

// serve runs the registry until SIGTERM or SIGINT. Manifests are kept in memory: the registry
// lives as long as the cluster, and the cluster's start pushes the images again.
func serve(addr, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	srv := &http.Server{
		Addr: addr,
		Handler: registry.New(
			registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)),
			registry.Logger(log.New(io.Discard, "", 0)),
		),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("serving the registry on %s (blobs in %s)\n", addr, dir)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", addr, err)
	}
	return nil
}

// push writes every tagged image of a docker archive to the registry, under the name a
// containerd mirror asks for.
func push(ctx context.Context, reg, archive string, out io.Writer) error {
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil {
		return fmt.Errorf("reading %s: %w", archive, err)
	}
	for _, desc := range manifest {
		for _, tag := range desc.RepoTags {
			src, err := name.NewTag(tag)
			if err != nil {
				return fmt.Errorf("reading the tag %q: %w", tag, err)
			}
			img, err := tarball.ImageFromPath(archive, &src)
			if err != nil {
				return fmt.Errorf("reading %s from %s: %w", tag, archive, err)
			}
			dst, err := mirrorTag(reg, src)
			if err != nil {
				return err
			}
			if err := remote.Write(dst, img, remote.WithContext(ctx)); err != nil {
				return fmt.Errorf("pushing %s: %w", dst, err)
			}
			fmt.Fprintf(out, "%s -> %s\n", tag, dst)
		}
	}
	return nil
}

// mirrorTag is the name under which reg serves src as a mirror of src's registry: the same
// repository path and tag on reg (plain HTTP).
func mirrorTag(reg string, src name.Tag) (name.Tag, error) {
	dst, err := name.NewTag(reg+"/"+src.RepositoryStr()+":"+src.TagStr(), name.Insecure)
	if err != nil {
		return name.Tag{}, fmt.Errorf("naming %s on %s: %w", src, reg, err)
	}
	return dst, nil
}
