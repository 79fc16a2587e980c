// helm-renderer renders Helm charts exactly as `helm template` of the same Helm version does, for
// many value sets per process: Ringmaster starts it once and sends it one JSON line per render on
// standard input; it answers one JSON line per render, with the request's id, on standard output,
// rendering up to -workers charts at once. A render that exceeds its time limit is answered with an
// error (Go cannot stop a running template, so the process should then be replaced: it says so in
// the answer). At the end of standard input it finishes the renders it has and exits.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
)

// protocol changes when requests or answers change shape; the client refuses another.
const protocol = 1

type hello struct {
	Ready       bool   `json:"ready"`
	Protocol    int    `json:"protocol"`
	HelmVersion string `json:"helmVersion"`
	KubeVersion string `json:"kubeVersion"`
	Workers     int    `json:"workers"`
}

type answer struct {
	ID     int64  `json:"id"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// Timeout: the render ran past its limit and is still running; replace this process.
	Timeout bool  `json:"timeout,omitempty"`
	Ms      int64 `json:"ms"`
}

type writer struct {
	mu  sync.Mutex
	buf *bufio.Writer
	enc *json.Encoder
}

func (w *writer) send(v interface{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(v); err != nil {
		fmt.Fprintf(os.Stderr, "helm-renderer: cannot write an answer: %v\n", err)
		os.Exit(2)
	}
	if err := w.buf.Flush(); err != nil {
		os.Exit(2)
	}
}

const defaultTimeout = 30 * time.Second

func main() {
	workers := flag.Int("workers", runtime.NumCPU(), "renders at once")
	maxLine := flag.Int("max-request-bytes", 64<<20, "largest request line")
	version := flag.Bool("version", false, "print the Helm version and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until the end of input (for measuring the renderer)")
	flag.Parse()
	caps := chartutil.DefaultCapabilities
	if *version {
		fmt.Printf("%s (Kubernetes %s)\n", caps.HelmVersion.Version, caps.KubeVersion.Version)
		return
	}
	if *workers < 1 {
		*workers = 1
	}
	// A render allocates a lot and keeps little: collecting at 5x the live heap instead of 2x saves
	// about a third of the CPU for some tens of MiB (measured on the benchmark's chart).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	buf := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	out := &writer{buf: buf, enc: enc}
	out.send(hello{Ready: true, Protocol: protocol, HelmVersion: caps.HelmVersion.Version, KubeVersion: caps.KubeVersion.Version, Workers: *workers})

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}

	cache := newChartCache(64)
	slots := make(chan struct{}, *workers)
	var active sync.WaitGroup
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), *maxLine)
	for in.Scan() {
		req := &renderRequest{}
		if err := json.Unmarshal(in.Bytes(), req); err != nil {
			out.send(answer{ID: req.ID, Error: "helm-renderer: a request is not valid JSON: " + err.Error()})
			continue
		}
		active.Add(1)
		go func() {
			defer active.Done()
			slots <- struct{}{}
			serve(cache, req, out, slots)
		}()
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "helm-renderer: reading requests: %v\n", err)
	}
	// Renders still running past their limit are abandoned: exiting stops them.
	active.Wait()
}

// serve renders one request within its time limit and answers it; it frees its slot when the
// render ends, or at the limit (the abandoned render keeps running until the process exits).
func serve(cache *chartCache, req *renderRequest, out *writer, slots chan struct{}) {
	limit := defaultTimeout
	if req.TimeoutMs > 0 {
		limit = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	start := time.Now()
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- answer{ID: req.ID, Error: fmt.Sprintf("Error: helm panicked while rendering: %v", r)}
			}
		}()
		output, err := render(cache, req)
		if err != nil {
			done <- answer{ID: req.ID, Error: err.Error()}
			return
		}
		done <- answer{ID: req.ID, Output: output}
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case a := <-done:
		<-slots
		a.Ms = time.Since(start).Milliseconds()
		out.send(a)
	case <-timer.C:
		<-slots
		out.send(answer{ID: req.ID, Timeout: true, Ms: time.Since(start).Milliseconds(), Error: fmt.Sprintf("Error: rendering did not finish within %s (a template that loops for ever, or renders far too much?)", limit)})
	}
}
