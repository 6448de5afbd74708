package proxylabels

// Router is one HTTP route a proxy label set asks for, read from Traefik's or Caddy's labels:
// which requests (Matches, alternatives), through which entry points, to which port, changed
// by which middlewares (in order).
type Router struct {
	// Name is the router's name in the labels (traefik.http.routers.<name>, caddy_<n>).
	Name string
	// Label is the label that holds the router's hosts (traefik.http.routers.<name>.rule,
	// caddy_<n>), which an error names.
	Label string
	// Matches are alternatives; each becomes a rule of its own.
	Matches []Match
	// EntryPoints are Traefik's entry point names (web, websecure), which name the Gateway's
	// listeners.
	EntryPoints []string
	// TLS: the router answers HTTPS.
	TLS bool
	// CertResolver is Traefik's ACME resolver (or Caddy's issuer), read as a cert-manager
	// issuer's name.
	CertResolver string
	// Port is the port of the service's tasks that receives the requests.
	Port int32
	// Middlewares change the request or answer it, in order.
	Middlewares []Middleware
}

// Middleware is a request change a route filter expresses.
type Middleware struct {
	// Name is the middleware's name in the labels.
	Name string
	// StripPrefixes: the first prefix of the path that is one of these is removed.
	StripPrefixes []string
	// AddPrefix is put in front of the path.
	AddPrefix string
	// Redirect answers with a redirect instead of forwarding.
	Redirect *Redirect
	// Request and Response headers to set (a value) or remove (an empty value).
	RequestHeaders, ResponseHeaders map[string]string
}

// Redirect is a redirect answer: the parts given replace the request's.
type Redirect struct {
	Scheme    string
	Hostname  string
	Port      int32
	Permanent bool
}
