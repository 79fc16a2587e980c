package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/errors"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// renderRequest is one `helm template <release> <chart> --namespace <ns> [--include-crds]
// [--kube-version v] [--api-versions a]... --values -` with the values file's text.
type renderRequest struct {
	ID          int64    `json:"id"`
	Chart       string   `json:"chart"`
	ChartKey    string   `json:"chartKey"`
	Release     string   `json:"release"`
	Namespace   string   `json:"namespace"`
	Values      string   `json:"values"`
	IncludeCRDs bool     `json:"includeCRDs"`
	KubeVersion string   `json:"kubeVersion,omitempty"`
	APIVersions []string `json:"apiVersions,omitempty"`
	TimeoutMs   int64    `json:"timeoutMs,omitempty"`
}

// loadedChart is a chart folder read once: its files as helm's loader read them (after
// .helmignore and the byte-order-mark trimming), from which every render builds a fresh chart.
type loadedChart struct {
	once sync.Once
	raw  []*chart.File
	err  error
}

// charts caches chart folders by path and content key. The key is the fleet's hash of the chart
// folder (for a Git revision, whose extraction path is content-addressed) or a per-load id (for a
// work tree), so a changed chart is read again. Bounded: the oldest entry goes first.
type chartCache struct {
	mu    sync.Mutex
	byKey map[string]*loadedChart
	order []string
	limit int
}

func newChartCache(limit int) *chartCache {
	return &chartCache{byKey: map[string]*loadedChart{}, limit: limit}
}

func (c *chartCache) get(path, key string) *loadedChart {
	if key == "" {
		return &loadedChart{}
	}
	k := path + "\x00" + key
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		return e
	}
	e := &loadedChart{}
	c.byKey[k] = e
	c.order = append(c.order, k)
	for len(c.order) > c.limit {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
	return e
}

// load returns a chart that is this render's own: helm's install action changes the chart it is
// given (dependencies enabled by conditions, import-values, aliases), so charts are never shared
// between renders; only the files are.
func (e *loadedChart) load(path string) (*chart.Chart, error) {
	e.once.Do(func() {
		c, err := loader.Load(path)
		if err != nil {
			e.err = err
			return
		}
		e.raw = c.Raw
	})
	if e.err != nil {
		return nil, e.err
	}
	files := make([]*loader.BufferedFile, len(e.raw))
	for i, f := range e.raw {
		files[i] = &loader.BufferedFile{Name: f.Name, Data: f.Data}
	}
	return loader.LoadFiles(files)
}

// render does what `helm template` (cmd/helm/template.go and runInstall in cmd/helm/install.go of
// the pinned Helm) does, step for step and with the same messages, and returns its standard output.
// An error is returned as helm prints it (cobra's "Error: " prefix included).
func render(cache *chartCache, req *renderRequest) (string, error) {
	out, err := renderTemplate(cache, req)
	if err != nil {
		return "", fmt.Errorf("Error: %s", err.Error())
	}
	return out, nil
}

func renderTemplate(cache *chartCache, req *renderRequest) (string, error) {
	client := action.NewInstall(&action.Configuration{Log: func(string, ...interface{}) {}})
	client.Timeout = 300 * time.Second
	if req.KubeVersion != "" {
		parsed, err := chartutil.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("invalid kube version '%s': %s", req.KubeVersion, err)
		}
		client.KubeVersion = parsed
	}
	client.DryRunOption = "true"
	client.DryRun = true
	client.ReleaseName = req.Release
	client.Replace = true
	client.ClientOnly = true
	client.APIVersions = chartutil.VersionSet(req.APIVersions)
	client.IncludeCRDs = req.IncludeCRDs

	// LocateChart: a local path (the fleet always gives one).
	name := strings.TrimSpace(req.Chart)
	if _, err := os.Stat(name); err != nil {
		if filepath.IsAbs(name) || strings.HasPrefix(name, ".") {
			return "", errors.Errorf("path %q not found", name)
		}
		return "", errors.Errorf("chart %q is not a local path", name)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}

	// valueOpts.MergeValues with `--values -`.
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(req.Values), &vals); err != nil {
		return "", errors.Wrapf(err, "failed to parse %s", "-")
	}
	vals = mergeMaps(map[string]interface{}{}, vals)

	ch, err := cache.get(abs, req.ChartKey).load(abs)
	if err != nil {
		return "", err
	}
	switch ch.Metadata.Type {
	case "", "application":
	default:
		return "", errors.Errorf("%s charts are not installable", ch.Metadata.Type)
	}
	if reqs := ch.Metadata.Dependencies; reqs != nil {
		if err := action.CheckDependencies(ch, reqs); err != nil {
			return "", errors.Wrap(err, "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies")
		}
	}
	client.Namespace = req.Namespace

	rel, err := client.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		if rel != nil {
			return "", fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
		}
		return "", err
	}
	var b strings.Builder
	fmt.Fprintln(&b, strings.TrimSpace(rel.Manifest))
	for _, m := range rel.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Path, m.Manifest)
	}
	return b.String(), nil
}

// mergeMaps is helm's (pkg/cli/values/options.go): the values file merged into an empty base.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k]; ok {
				if bv, ok := bv.(map[string]interface{}); ok {
					out[k] = mergeMaps(bv, v)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}
