package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeswarm/kubeswarm/internal/dockerapi"
)

// DockerAPIOptions is `kubectl swarm docker-api [--listen ADDR] [--tlscacert --tlscert --tlskey]`.
type DockerAPIOptions struct {
	genericiooptions.IOStreams
	clientOptions
	listen                 string
	tlsCA, tlsCert, tlsKey string

	network, address string
	server           *dockerapi.Server
}

func newDockerAPICommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DockerAPIOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "docker-api [--listen unix:///PATH | tcp://127.0.0.1:PORT]",
		Short: "Serve Swarm's Docker Engine API, so that the docker CLI itself drives kubeswarm",
		Long: "docker-api serves Swarm's part of the Docker Engine API (services, tasks, nodes, networks, secrets,\n" +
			"configs) on this machine with your kubeconfig's identity; point the docker CLI at it with the\n" +
			"printed DOCKER_HOST. TCP is served on loopback only, unless TLS client certificates are required.",
		Args: cobra.NoArgs,
		RunE: runVerb(f, o),
	}
	def := "unix://" + filepath.Join(os.TempDir(), fmt.Sprintf("kubeswarm-docker-%d.sock", os.Getuid()))
	cmd.Flags().StringVar(&o.listen, "listen", def, "Where to listen: unix:///PATH or tcp://HOST:PORT")
	cmd.Flags().StringVar(&o.tlsCA, "tlscacert", "", "Serve TLS and require client certificates signed by this CA (needed for TCP beyond loopback)")
	cmd.Flags().StringVar(&o.tlsCert, "tlscert", "", "TLS certificate of the endpoint")
	cmd.Flags().StringVar(&o.tlsKey, "tlskey", "", "TLS key of the endpoint")
	return cmd
}

// Complete reads --listen and makes the clients the Engine API serves from.
func (o *DockerAPIOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	u, err := url.Parse(o.listen)
	if err != nil {
		return fmt.Errorf("reading --listen %s: %w", o.listen, err)
	}
	switch u.Scheme {
	case "unix":
		o.network, o.address = "unix", u.Path
	case "tcp":
		o.network, o.address = "tcp", u.Host
	default:
		return fmt.Errorf("--listen %s: the scheme must be unix:// or tcp://", o.listen)
	}
	if err := o.clientOptions.Complete(f, cmd, args); err != nil {
		return err
	}
	if err := o.completeClientset(f); err != nil {
		return err
	}
	o.server = &dockerapi.Server{Client: o.client, Clientset: o.clientset, Namespace: o.namespace, Version: buildVersion(), Now: o.clock.Now}
	return nil
}

// Validate checks the TLS flags, and that TCP without them is served on loopback only.
func (o *DockerAPIOptions) Validate() error {
	tlsSet := o.tlsCA != "" || o.tlsCert != "" || o.tlsKey != ""
	if tlsSet && (o.tlsCA == "" || o.tlsCert == "" || o.tlsKey == "") {
		return errors.New("--tlscacert, --tlscert and --tlskey go together")
	}
	if o.network != "tcp" || tlsSet {
		return nil
	}
	host, _, err := net.SplitHostPort(o.address)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %s: TCP is served on loopback only, unless --tlscacert, --tlscert and --tlskey require client certificates", o.listen)
	}
	return nil
}

// Run serves the Engine API until Ctrl-C, printing the DOCKER_HOST to use.
func (o *DockerAPIOptions) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.network == "unix" {
		_ = os.Remove(o.address) // a socket left by an earlier run
	}
	l, err := net.Listen(o.network, o.address)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listen, err)
	}
	if o.network == "unix" {
		defer func() { _ = os.Remove(o.address) }()
		if err := os.Chmod(o.address, 0o600); err != nil {
			return fmt.Errorf("restricting %s to its owner: %w", o.address, err)
		}
	}
	host := o.listen
	if o.tlsCA != "" {
		cfg, err := o.tlsConfig()
		if err != nil {
			return err
		}
		l = tls.NewListener(l, cfg)
	}
	fmt.Fprintf(o.Out, "export DOCKER_HOST=%s\n", host)
	if o.tlsCA != "" {
		fmt.Fprintln(o.Out, "export DOCKER_TLS_VERIFY=1")
	}
	srv := &http.Server{Handler: o.server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the Engine API: %w", err)
	}
	return nil
}

func (o *DockerAPIOptions) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS certificate: %w", err)
	}
	pem, err := os.ReadFile(o.tlsCA)
	if err != nil {
		return nil, fmt.Errorf("reading the CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", o.tlsCA)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}
