//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/viz"
)

// vizBrowser starts Debian's chromium headless (hack/install-chromium.sh installs it when missing)
// and returns a chromedp context for one tab, with the page's console errors logged.
func vizBrowser(t *testing.T) context.Context {
	t.Helper()
	script, _ := filepath.Abs("../../hack/install-chromium.sh")
	out, err := exec.Command(script).Output()
	if err != nil {
		t.Fatalf("installing chromium (%s): %v", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(lines[len(lines)-1]),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// vizServe runs the visualizer as `kubectl swarm viz` does (informers of its own, from the
// kubeconfig) on a free loopback port and returns its URL.
func vizServe(t *testing.T) string {
	t.Helper()
	cfg, err := config.GetConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- viz.Run(ctx, cfg, viz.Options{Address: "127.0.0.1:0", Ready: func(u string) { urls <- u }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the visualizer stopped with: %v", err)
		}
	})
	select {
	case u := <-urls:
		return u
	case err := <-done:
		t.Fatalf("the visualizer stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the visualizer did not listen within 30s")
	}
	return ""
}

// vizCardsJS returns, for the cards of service, a map node -> running cards, read off the page.
const vizCardsJS = `(() => {
  const out = {};
  for (const c of document.querySelectorAll('.task[data-service=%q]:not([hidden])')) {
    if (c.dataset.state !== 'running') continue;
    const n = c.closest('section.node').dataset.node;
    out[n] = (out[n] || 0) + 1;
  }
  return out;
})()`

func vizPageCards(ctx context.Context, service string) (map[string]int, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[map[string]int](fmt.Sprintf(vizCardsJS, service)))
}

func vizSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func vizScreenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	path := filepath.Join("artifacts", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("saving the screenshot: %v", err)
		return
	}
	t.Logf("screenshot: test/e2e/%s", path)
}

func vizSetAvailability(t *testing.T, node string, a swarmv1.NodeAvailability) {
	t.Helper()
	eventually(t, 10*time.Second, "setting "+node+" to "+string(a), func() error {
		sn := &swarmv1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: node}, sn); err != nil {
			return err
		}
		sn.Spec.Availability = a
		return k8sClient.Update(context.Background(), sn)
	})
}

// TestVisualizer is the seed's visualizer on the local cluster: the three nodes as columns, a
// --replicas 3 service as three cards, and a drained node's cards moving elsewhere.
func TestVisualizer(t *testing.T) {
	ns := newNamespace(t)
	url := vizServe(t)
	ctx := vizBrowser(t)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	// Only this test's namespace: other tests' tasks stay out of the picture.
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"#ns="+ns)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	for _, n := range []string{"manager1", "worker1", "worker2"} {
		sel := fmt.Sprintf(`section.node[data-node=%q] .badge.state-Ready`, n)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("column %s: %v", n, err)
		}
	}
	if role, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`section.node[data-node="manager1"] .badge.role-manager`))); err != nil || role != "manager" {
		t.Errorf("manager1's role badge: %q, %v", role, err)
	}

	// docker service create --replicas 3 --name web nginx:1.27
	svcSpec(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx:1.27", Replicas: ptr.To[int32](3)})
	var byNode map[string]int
	eventually(t, 60*time.Second, "three running cards of web", func() error {
		var err error
		if byNode, err = vizPageCards(ctx, "web"); err != nil {
			return err
		}
		if vizSum(byNode) != 3 {
			return fmt.Errorf("cards by node: %v", byNode)
		}
		return nil
	})
	names, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.task[data-service="web"]:not([hidden]) .t-name')].map(e => e.textContent).sort().join(',')`))
	tags, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...new Set([...document.querySelectorAll('.task[data-service="web"]:not([hidden]) .t-tag')].map(e => e.textContent))].join(',')`))
	if names != "web.1,web.2,web.3" || tags != "1.27" {
		t.Errorf("cards: names %q (want web.1,web.2,web.3), tags %q (want 1.27)", names, tags)
	}
	t.Logf("cards by node: %v", byNode)

	// docker node update --availability drain <a node with a card>
	drained := ""
	for _, n := range []string{"worker1", "worker2", "manager1"} {
		if byNode[n] > 0 {
			drained = n
			break
		}
	}
	t.Cleanup(func() {
		vizSetAvailability(t, drained, swarmv1.AvailabilityActive)
		eventually(t, 30*time.Second, drained+" active again", func() error {
			sn := &swarmv1.Node{}
			if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: drained}, sn); err != nil {
				return err
			}
			if sn.Status.Availability != swarmv1.AvailabilityActive {
				return fmt.Errorf("availability %q", sn.Status.Availability)
			}
			return nil
		})
	})
	start := time.Now()
	vizSetAvailability(t, drained, swarmv1.AvailabilityDrain)
	eventually(t, 15*time.Second, "the cards leave the drained "+drained, func() error {
		got, err := vizPageCards(ctx, "web")
		if err != nil {
			return err
		}
		if got[drained] != 0 || vizSum(got) != 3 {
			return fmt.Errorf("cards by node: %v", got)
		}
		byNode = got
		return nil
	})
	moved := time.Since(start)
	t.Logf("drained %s: its cards moved on the page in %s (now %v)", drained, moved.Round(10*time.Millisecond), byNode)
	if moved > 10*time.Second {
		t.Errorf("the cards took %s to move", moved)
	}
	if drainBadge, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`section.node[data-node=%q] .badge.avail-drain`, drained)))); err != nil || drainBadge != "drain" {
		t.Errorf("the drained column's badge: %q, %v", drainBadge, err)
	}
	// Wait for the page's ages to read as a person sees them, then keep the picture.
	time.Sleep(500 * time.Millisecond)
	vizScreenshot(t, ctx, "viz.png", false)
}

// TestVisualizerAtScale loads a generated cluster of 100 nodes and 2,000 tasks into the page,
// then changes 50 tasks every 100 ms for 10 s, and measures how long the page takes to draw the
// snapshot, the longest frame it spends on deltas and the longest gap between animation frames
// (a frozen page shows as a long gap). A service named like HTML checks that names are shown
// as text.
func TestVisualizerAtScale(t *testing.T) {
	const evil = `<img src=x onerror="document.title='pwned'">`
	c := viz.GenerateCluster(100, 2000, 1)
	c.Pods[0].Labels["swarm.kubeswarm.io/service"] = evil
	hub := viz.NewHub()
	v, slots := c.View(nil)
	hub.Publish(v)

	ctx, cancelServe := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- viz.ListenAndServe(ctx, "127.0.0.1:0", hub, func(u string) { urls <- u }) }()
	t.Cleanup(func() { cancelServe(); <-done })
	url := <-urls

	bctx := vizBrowser(t)
	bctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-version="1"]`))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	loaded := time.Since(start)
	snapshotMs, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`vizStats.snapshotMs`))
	if err != nil {
		t.Fatal(err)
	}
	cards, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.task').length`))
	if err != nil {
		t.Fatal(err)
	}
	if cards != 2000 {
		t.Errorf("%d cards, want 2000", cards)
	}
	t.Logf("100 nodes, 2,000 tasks: page loaded and drawn in %s (snapshot applied in %.0f ms)", loaded.Round(time.Millisecond), snapshotMs)

	// Frame gaps, from the page's own animation frames.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.gaps = []; (() => { let last = performance.now();
		const f = (t) => { gaps.push(t - last); last = t; requestAnimationFrame(f); }; requestAnimationFrame(f); })(); true`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	idle, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => { const g = gaps.slice().sort((a, b) => a - b); gaps.length = 0;
		return [g[Math.floor(g.length * 0.95)], g[g.length - 1]]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle for 2 s: animation-frame gaps p95 %.1f ms, max %.1f ms (the machine's own pace)", idle[0], idle[1])
	churnStart := time.Now()
	for time.Since(churnStart) < 10*time.Second {
		c.Churn(50)
		next, s := c.View(slots)
		slots = s
		hub.Publish(next)
		time.Sleep(100 * time.Millisecond)
	}
	want := fmt.Sprint(hub.View().Version)
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`body[data-version="`+want+`"]`))); err != nil {
		t.Fatalf("the page did not catch up with version %s: %v", want, err)
	}
	type result struct {
		MaxFrameMs float64 `json:"maxFrameMs"`
		Deltas     int     `json:"deltas"`
		Frames     int     `json:"frames"`
		MaxGap     float64 `json:"maxGap"`
		P95Gap     float64 `json:"p95Gap"`
		Cards      int     `json:"cards"`
		Images     int     `json:"images"`
		Title      string  `json:"title"`
		Evil       bool    `json:"evil"`
	}
	res, err := chromedp.Run(bctx, chromedp.Evaluate[result](`(() => { const g = gaps.slice().sort((a, b) => a - b);
		return { maxFrameMs: vizStats.maxFrameMs, deltas: vizStats.deltas, frames: vizStats.frames,
		  maxGap: g[g.length - 1], p95Gap: g[Math.floor(g.length * 0.95)],
		  cards: document.querySelectorAll('.task').length, images: document.querySelectorAll('img').length, title: document.title,
		  evil: [...document.querySelectorAll('.t-name')].some(e => e.textContent.startsWith('<img src=x')) }; })()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10 s of 500 task changes/s: %d deltas in %d frames; longest frame spent on deltas %.1f ms; animation-frame gaps p95 %.1f ms, max %.1f ms",
		res.Deltas, res.Frames, res.MaxFrameMs, res.P95Gap, res.MaxGap)
	// The machine is shared (2 cores): a frozen page is one that misses frames for seconds.
	if res.MaxGap > 1500 {
		t.Errorf("the page froze for %.0f ms", res.MaxGap)
	}
	if res.Cards != 2000 {
		t.Errorf("%d cards after the churn, want 2000", res.Cards)
	}
	if res.Images != 0 || res.Title == "pwned" || !res.Evil {
		t.Errorf("a service named like HTML: %d img elements, title %q, shown as text: %v", res.Images, res.Title, res.Evil)
	}
	vizScreenshot(t, bctx, "viz-scale.png", false)
}

// TestVisualizerNodeStates shows a drained, a paused and a down node and tasks waiting for a
// node on a generated cluster, and checks that each is marked.
func TestVisualizerNodeStates(t *testing.T) {
	c := viz.GenerateCluster(6, 30, 3) // manager1-3, worker1-3
	byName := map[string]*swarmv1.Node{}
	for _, sn := range c.SwarmNodes {
		byName[sn.Name] = sn
	}
	byName["worker1"].Spec.Availability, byName["worker1"].Status.Availability = swarmv1.AvailabilityDrain, swarmv1.AvailabilityDrain
	byName["worker2"].Spec.Availability, byName["worker2"].Status.Availability = swarmv1.AvailabilityPause, swarmv1.AvailabilityPause
	byName["worker3"].Status.State = swarmv1.NodeDown
	for _, p := range c.Pods {
		if p.Spec.NodeName == "worker1" { // drained: its tasks wait for a node
			p.Spec.NodeName = ""
			p.Status.Phase = "Pending"
			p.Status.Conditions = nil
		}
	}
	hub := viz.NewHub()
	v, _ := c.View(nil)
	hub.Publish(v)
	ctx, cancelServe := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- viz.ListenAndServe(ctx, "127.0.0.1:0", hub, func(u string) { urls <- u }) }()
	t.Cleanup(func() { cancelServe(); <-done })
	url := <-urls

	bctx := vizBrowser(t)
	bctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-version="1"]`))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	for _, sel := range []string{
		`section.node.avail-drain[data-node="worker1"] .badge.avail-drain`,
		`section.node.avail-pause[data-node="worker2"] .badge.avail-pause`,
		`section.node.state-Down[data-node="worker3"] .badge.state-Down`,
		`section.node.unassigned .task[data-state="pending"]`,
		`section.node[data-node="manager1"] .badge.leader`,
	} {
		if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Errorf("%s: %v", sel, err)
		}
	}
	vizScreenshot(t, bctx, "viz-states.png", false)
}
