package main

import (
	"fmt"
	"os"
	"time"
)

// Roles the binary can play. The empty role is the plain web server (nginx and the project's own
// kubeswarm.test/web images).
const (
	roleWeb       = ""
	roleWordpress = "wordpress"
	roleMySQL     = "mysql"
)

// Defaults of the images the binary stands in for: the official wordpress image reads its
// database from WORDPRESS_DB_HOST, and the Swarm tutorial names that service dbcluster.
const (
	defaultDataDir     = "/var/lib/mysql"
	defaultDBHost      = "dbcluster"
	mysqlPort          = "3306"
	defaultUnhealthyAt = "/tmp/unhealthy"
)

// config is what the environment asks of the binary. The image config sets most of it; a pod or
// a Swarm service may override any variable.
type config struct {
	// Role is ROLE: "", "wordpress" or "mysql".
	Role string
	// Port is PORT, 80 by default and 3306 for mysql.
	Port string
	// Version is VERSION, printed in every answer so a rolling update shows which tasks moved.
	Version string
	// NodeName is NODE_NAME (from the downward API) and Hostname the container's host name: with
	// them an answer tells which task on which node served it.
	NodeName string
	Hostname string
	// DataDir is DATA_DIR, where the mysql role keeps its rows.
	DataDir string
	// DBHost is WORDPRESS_DB_HOST, the database the wordpress role reads, as host or host:port.
	DBHost string
	// Unhealthy is UNHEALTHY=1: /healthz fails from the start.
	Unhealthy bool
	// UnhealthyFile makes /healthz fail while it exists, so a test can flip health with a file.
	UnhealthyFile string
	// Crash is CRASH=1: exit with crashExitCode instead of serving.
	Crash bool
	// StopDelay is STOP_DELAY (a Go duration): after SIGTERM the server goes on serving that
	// long before it stops, as a database flushing its data does, so a test can see whether a
	// new task starts while the old one still runs.
	StopDelay time.Duration
}

// configFromEnv reads the configuration through getenv (os.Getenv outside tests).
func configFromEnv(getenv func(string) string) (config, error) {
	cfg := config{
		Role:          getenv("ROLE"),
		Port:          getenv("PORT"),
		Version:       getenv("VERSION"),
		NodeName:      getenv("NODE_NAME"),
		DataDir:       getenv("DATA_DIR"),
		DBHost:        getenv("WORDPRESS_DB_HOST"),
		Unhealthy:     getenv("UNHEALTHY") == "1",
		UnhealthyFile: defaultUnhealthyAt,
		Crash:         getenv("CRASH") == "1",
	}
	if d := getenv("STOP_DELAY"); d != "" {
		var err error
		if cfg.StopDelay, err = time.ParseDuration(d); err != nil {
			return config{}, fmt.Errorf("STOP_DELAY %q: %w", d, err)
		}
	}
	switch cfg.Role {
	case roleWeb, roleWordpress, roleMySQL:
	default:
		return config{}, fmt.Errorf("unknown ROLE %q (want empty, %q or %q)", cfg.Role, roleWordpress, roleMySQL)
	}
	if cfg.Port == "" {
		cfg.Port = "80"
		if cfg.Role == roleMySQL {
			cfg.Port = mysqlPort
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = defaultDataDir
	}
	if cfg.DBHost == "" {
		cfg.DBHost = defaultDBHost
	}
	host, err := os.Hostname()
	if err != nil {
		return config{}, fmt.Errorf("reading host name: %w", err)
	}
	cfg.Hostname = host
	return cfg, nil
}

// roleName is the role as answers print it: "web" for the plain server.
func (c config) roleName() string {
	if c.Role == roleWeb {
		return "web"
	}
	return c.Role
}
