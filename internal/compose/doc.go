// Package compose turns compose files into a kubeswarm Stack, as `docker stack deploy` turns them
// into Swarm services, networks, volumes, secrets and configs. The kubectl plugin (`stack deploy`,
// `convert`) and the tests use it.
//
//	p, err := compose.Load(ctx, compose.LoadOptions{Files: []string{"docker-compose.yml"}, ProjectName: "wp"})
//	r, err := compose.Convert(p, "wp", compose.ConvertOptions{})
//	// r.Stack, r.Secrets, r.ConfigMaps: complete objects (namespace left to the caller);
//	// r.Warnings: print each followed by an empty line, as docker does; r.YAML() for GitOps.
//
// Loading is compose-go's (github.com/compose-spec/compose-go/v2): interpolation from the
// environment and .env, several files merged in order, extends, profiles, env_file. Errors name
// the file, the service (or object) and the key (*Error); when several files are merged, the file
// is the last one that sets the key.
//
// Conversion follows docker/cli's cli/compose/convert: compose `entrypoint` is the container's
// command and `command` its args; `labels` are container labels, `deploy.labels` service labels;
// the restart policy falls back to `restart` when deploy.restart_policy is not set; a published
// port range expands to one port each; capabilities are normalised as docker's
// EffectiveCapAddCapDrop. Keys docker stack deploy ignores are warned about in docker's words
// ("Ignoring unsupported options: build, links", "Ignoring deprecated options: …"), keys it
// refuses are refused with its words ("Compose file contains unsupported options: …"), with the
// lists of docker/cli's cli/compose/types/types.go. Two deliberate differences: `extends` is
// resolved (docker refuses it, advising to resolve it first), and the short `tmpfs` list becomes
// tmpfs mounts (docker drops it silently). Keys only docker compose knows (pull_policy, platform,
// …) are warned about as ignored; keys docker honours that a Service cannot express
// (oom_score_adj, stdin_open, isolation, credential_spec) too.
//
// Names. The Stack keeps the compose names of services, networks, volumes, secrets and configs,
// and services refer to them by those names; the Stack controller maps them to Kubernetes objects
// with swarmv1.StackObjectName (docker's <stack>_<name> as <stack>-<name>, lower-cased, "_" and "." as "-":
// secret db_pass of stack wp is the Secret wp-db-pass). A service name that is no DNS label
// (Web_Front) is written as one (web-front), with a warning, since other services find it by that
// name; two names that become the same object are an error. An explicit `name:` of a stack's own
// object is not kept (warning): its Kubernetes name is always swarmv1.StackObjectName(stack, key). External
// objects keep their name, made a valid Kubernetes name (externalName) when it is not one.
//
// Units. Memory (docker's "50M" is 50 MiB) becomes an exact quantity in the largest exact binary
// unit (50Mi, 1536Mi) or bytes; cpus "0.50" becomes 500m (a whole number of nano CPUs, as
// docker requires); durations become metav1.Duration.
//
// Secrets and configs from a file, an environment variable (`environment:`) or inline `content:`
// (configs) become a Secret or ConfigMap named swarmv1.StackObjectName(stack, name) holding one key, the
// compose name (the Service controller mounts the key named after the secret, or the only key),
// labelled swarm.kubeswarm.io/stack=<stack> and app.kubernetes.io/managed-by=kubeswarm; their
// compose labels become annotations (docker labels may hold any text). Objects only services of
// inactive profiles use are left out.
//
// Volumes may carry what compose cannot say about a claim in an x-kubeswarm extension:
//
//	volumes:
//	  data:
//	    x-kubeswarm: {size: 20Gi, storageClassName: fast-ssd}
//
// Bind mounts of the project's own files and folders (./conf/nginx.conf:/etc/nginx/nginx.conf)
// become configs of the stack, one per file (bind_conf_nginx.conf), with their ConfigMaps,
// mounted read-only where the bind was: a Kubernetes node has no copy of the project (binds.go).
// Other absolute paths stay bind mounts; the Docker Engine's socket is refused.
//
// Before it returns, Convert runs on the stack what the operator runs when it reconciles it
// (stack.Validate, translate.Verdict; verdict.go): what the operator would refuse is refused here,
// in its words, and what it would report in a Service's Honored condition is a warning.
//
// A stack's claims are never removed with the stack (docker stack rm keeps volumes), so the
// former `retain` key is accepted with a warning and ignored.
package compose
