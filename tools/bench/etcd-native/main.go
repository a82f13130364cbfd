// tools/bench/etcd-native/main.go: the benchmark suite's load generator for
// etcd's own client path (gRPC, clientv3), next to bench-load's JSON gateway.
//
// An etcd user does not go through the gateway: they link clientv3, which
// multiplexes many concurrent requests over a few HTTP/2 connections.  This
// program drives etcd that way and reports exactly what bench-load reports
// (the same JSON fields, the same closed loop: each client keeps one request
// in flight; the same --acked file of acknowledged keys, checked afterwards by
// `bench-load verify`), so tools/bench compares like with like.
//
// Built by tools/bench/lib.sh from Debian's golang-etcd-server-dev sources,
// offline: GO111MODULE=off GOPATH=<dir>:/usr/share/gocode go build.
//
//	etcd-native run --url HOST:PORT [--url ...] -c CLIENTS [--conns N]
//	                -d SECONDS [--warmup S] [--prefix P] [--acked FILE]
//	                [--op write|read] [--keys FILE] [--timeout-ms T]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type options struct {
	urls      []string
	clients   int
	conns     int
	duration  time.Duration
	warmup    time.Duration
	prefix    string
	ackedPath string
	op        string
	keysPath  string
	timeout   time.Duration
}

// result is what one client goroutine saw; merged at the end, so the hot
// loop takes no lock.
type result struct {
	requests, ok, okWindow uint64
	timeout, reset, other  uint64
	latencyUs              []uint32
	acked                  []string
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcd-native: "+format+"\n", args...)
	os.Exit(2)
}

func parseSeconds(flag, v string) time.Duration {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		die("%s: expected seconds, found %q", flag, v)
	}
	return time.Duration(f * float64(time.Second))
}

func parseCount(flag, v string, min, max int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		die("%s: expected an integer from %d to %d, found %q", flag, min, max, v)
	}
	return n
}

func parseArgs(args []string) options {
	o := options{clients: 1, conns: 0, duration: 10 * time.Second, prefix: "w",
		op: "write", timeout: 10 * time.Second}
	if len(args) < 1 || args[0] != "run" {
		die("usage: etcd-native run --url HOST:PORT -c CLIENTS [--conns N] -d SECONDS ... (see the top of main.go)")
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if i+1 >= len(args) {
			die("%s needs a value", a)
		}
		v := args[i+1]
		i++
		switch a {
		case "--url":
			o.urls = append(o.urls, v)
		case "-c":
			o.clients = parseCount(a, v, 1, 100000)
		case "--conns":
			o.conns = parseCount(a, v, 1, 10000)
		case "-d":
			o.duration = parseSeconds(a, v)
		case "--warmup":
			o.warmup = parseSeconds(a, v)
		case "--prefix":
			o.prefix = v
		case "--acked":
			o.ackedPath = v
		case "--op":
			if v != "write" && v != "read" {
				die("--op must be write or read, found %q", v)
			}
			o.op = v
		case "--keys":
			o.keysPath = v
		case "--timeout-ms":
			o.timeout = time.Duration(parseCount(a, v, 1, 3600000)) * time.Millisecond
		case "--system":
			if v != "etcd" {
				die("--system: this generator drives etcd only, found %q", v)
			}
		default:
			die("unknown option %q", a)
		}
	}
	if len(o.urls) == 0 {
		die("--url HOST:PORT is required")
	}
	if o.conns == 0 {
		// etcd's own benchmark tool's default ratio: a connection per 8 clients.
		o.conns = (o.clients + 7) / 8
	}
	if o.conns > o.clients {
		o.conns = o.clients
	}
	if o.op == "read" && o.keysPath == "" {
		die("--op read needs --keys FILE (one key a line)")
	}
	return o
}

func readKeys(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		die("%s: %v", path, err)
	}
	defer f.Close()
	var keys []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k := strings.TrimSpace(s.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	if err := s.Err(); err != nil {
		die("%s: %v", path, err)
	}
	if len(keys) == 0 {
		die("%s: no keys", path)
	}
	return keys
}

// classify sorts a failed request into bench-load's error kinds.
func classify(r *result, err error) {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		r.timeout++
	case status.Code(err) == codes.Unavailable || status.Code(err) == codes.Canceled:
		r.reset++
	default:
		r.other++
	}
}

func runClient(o *options, cli *clientv3.Client, index int, keys []string,
	start, measureFrom, end time.Time, out *result) {
	var counter uint64
	for {
		sent := time.Now()
		if !sent.Before(end) {
			return
		}
		counter++
		var key string
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		var err error
		if o.op == "write" {
			key = fmt.Sprintf("%s-%d-%d", o.prefix, index, counter)
			_, err = cli.Put(ctx, key, "Running")
		} else {
			key = keys[(uint64(index)*7919+counter)%uint64(len(keys))]
			var resp *clientv3.GetResponse
			resp, err = cli.Get(ctx, key) // linearizable: etcd's default
			if err == nil && len(resp.Kvs) != 1 {
				err = fmt.Errorf("key %s: %d values", key, len(resp.Kvs))
			}
		}
		cancel()
		out.requests++
		t := time.Now()
		if err != nil {
			classify(out, err)
			continue
		}
		out.ok++
		if o.op == "write" && o.ackedPath != "" {
			out.acked = append(out.acked, key)
		}
		if !t.Before(measureFrom) && !t.After(end) {
			us := t.Sub(sent).Microseconds()
			if us > int64(^uint32(0)) {
				us = int64(^uint32(0))
			}
			out.latencyUs = append(out.latencyUs, uint32(us))
			out.okWindow++
		}
	}
}

func percentileMs(sorted []uint32, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100.0*float64(len(sorted)-1) + 0.5)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / 1000.0
}

func main() {
	o := parseArgs(os.Args[1:])
	var keys []string
	if o.op == "read" {
		keys = readKeys(o.keysPath)
	}
	endpoints := make([]string, len(o.urls))
	for i, u := range o.urls {
		endpoints[i] = "http://" + strings.TrimPrefix(u, "http://")
	}
	clis := make([]*clientv3.Client, o.conns)
	for i := range clis {
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
		if err != nil {
			die("connecting to %v: %v", endpoints, err)
		}
		clis[i] = cli
	}
	// One round trip on every connection first, so dialing is not measured.
	for i, cli := range clis {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := cli.Get(ctx, "etcd-native-warm")
		cancel()
		if err != nil {
			die("connection %d to %v: %v", i, endpoints, err)
		}
	}

	start := time.Now()
	measureFrom := start.Add(o.warmup)
	end := measureFrom.Add(o.duration)
	results := make([]result, o.clients)
	var wg sync.WaitGroup
	for i := 0; i < o.clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runClient(&o, clis[i%len(clis)], i, keys, start, measureFrom, end, &results[i])
		}(i)
	}
	wg.Wait()
	for _, cli := range clis {
		cli.Close()
	}

	var total result
	for i := range results {
		r := &results[i]
		total.requests += r.requests
		total.ok += r.ok
		total.okWindow += r.okWindow
		total.timeout += r.timeout
		total.reset += r.reset
		total.other += r.other
		total.latencyUs = append(total.latencyUs, r.latencyUs...)
		total.acked = append(total.acked, r.acked...)
	}
	if o.ackedPath != "" {
		f, err := os.Create(o.ackedPath)
		if err != nil {
			die("%s: %v", o.ackedPath, err)
		}
		w := bufio.NewWriter(f)
		for _, k := range total.acked {
			fmt.Fprintln(w, k)
		}
		if err := w.Flush(); err != nil {
			die("%s: %v", o.ackedPath, err)
		}
		if err := f.Close(); err != nil {
			die("%s: %v", o.ackedPath, err)
		}
	}
	sort.Slice(total.latencyUs, func(a, b int) bool { return total.latencyUs[a] < total.latencyUs[b] })
	report := map[string]interface{}{
		"requests":     total.requests,
		"ok":           total.ok,
		"ok_in_window": total.okWindow,
		"rate":         float64(total.okWindow) / o.duration.Seconds(),
		"p50_ms":       percentileMs(total.latencyUs, 50),
		"p90_ms":       percentileMs(total.latencyUs, 90),
		"p99_ms":       percentileMs(total.latencyUs, 99),
		"max_ms":       percentileMs(total.latencyUs, 100),
		"connections":  o.conns,
		"errors": map[string]uint64{
			"timeout": total.timeout, "connect": 0, "reset": total.reset,
			"http_4xx": 0, "http_5xx": 0, "http_other": 0, "bad_answer": total.other,
		},
	}
	b, err := json.Marshal(report)
	if err != nil {
		die("encoding the report: %v", err)
	}
	fmt.Println(string(b))
}
