package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// cliGet prints the body of GET url. A non-2xx status is a failure, so `web get` and
// `web healthcheck` work as exec healthchecks.
func cliGet(ctx context.Context, url string, stdout, stderr io.Writer) int {
	s := &server{client: &http.Client{Timeout: upstreamTimeout}}
	status, body, err := s.do(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "web:", err)
		return exitFailure
	}
	_, _ = stdout.Write(body)
	if status < 200 || status > 299 {
		fmt.Fprintf(stderr, "web: GET %s: status %d\n", url, status)
		return exitFailure
	}
	return 0
}

// cliLookup prints "NAME: ADDR ADDR..." for each name and fails if any lookup does.
func cliLookup(ctx context.Context, names []string, stdout, stderr io.Writer) int {
	code := 0
	for _, name := range names {
		addrs, err := lookupHost(ctx, name)
		if err != nil {
			fmt.Fprintln(stderr, "web:", err)
			code = exitFailure
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", name, strings.Join(addrs, " "))
	}
	return code
}
