// pglogins: a load client for tlslab benchmarks, the PostgreSQL twin of bench/logins. C workers
// open N sessions in total through github.com/jackc/pgx/v5 with full TLS and certificate
// validation (sslmode=verify-full against -ca), run SELECT 1, close; it prints one JSON line
// with the rate and latency percentiles. Bounded by -n and -deadline.
//
// -channel-binding is pgx's channel_binding: pgx v5.12 does SCRAM-SHA-256-PLUS (tls-server-end-
// point) and by default ("prefer") uses it whenever the server offers it over TLS, so through a
// TLS-terminating proxy the upstream refuses the login; "disable" measures plain SCRAM-SHA-256.
//
// Each login is a whole pgx.Connect (the connection string is parsed, the CA file read, TLS
// and the server's authentication, by default SCRAM-SHA-256, done afresh). Before the first
// one the PG* environment variables are dropped and HOME points at a new empty directory, so
// pgconn's defaults (~/.pgpass, ~/.pg_service.conf, ~/.postgresql/postgresql.crt) cannot
// change what is measured.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

func isolateFromEnvironment() error {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PG") {
			os.Unsetenv(name)
		}
	}
	home, err := os.MkdirTemp("", "pglogins-home-")
	if err != nil {
		return err
	}
	return os.Setenv("HOME", home)
}

func main() {
	host := flag.String("host", "localhost", "server host (also the name verify-full checks)")
	port := flag.Int("port", 0, "server port")
	ca := flag.String("ca", "", "CA file (PEM) to validate the server with")
	sslmode := flag.String("sslmode", "verify-full", "pgx sslmode value")
	channelBinding := flag.String("channel-binding", "prefer", "pgx channel_binding: prefer, disable or require")
	sslNegotiation := flag.String("sslnegotiation", "postgres", "pgx sslnegotiation: postgres (SSLRequest) or direct (PostgreSQL 17 direct SSL, ALPN postgresql)")
	n := flag.Int("n", 200, "logins in total")
	c := flag.Int("c", 4, "concurrent workers")
	deadline := flag.Duration("deadline", 60*time.Second, "stop after this long whatever happened")
	flag.Parse()
	if *port == 0 || *ca == "" {
		fmt.Fprintln(os.Stderr, "usage: pglogins -port P -ca FILE [-n N] [-c C]")
		os.Exit(2)
	}
	if err := isolateFromEnvironment(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer os.RemoveAll(os.Getenv("HOME"))
	q := url.Values{}
	q.Set("sslmode", *sslmode)
	q.Set("sslrootcert", *ca)
	q.Set("channel_binding", *channelBinding)
	q.Set("sslnegotiation", *sslNegotiation)
	u := &url.URL{Scheme: "postgres", User: url.UserPassword("lab", "lab-password"),
		Host: fmt.Sprintf("%s:%d", *host, *port), Path: "/lab", RawQuery: q.Encode()}
	connString := u.String()
	if _, err := pgx.ParseConfig(connString); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	var next, failures int64
	var firstError atomic.Value
	latencies := make([]time.Duration, *n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(*n) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				conn, err := pgx.Connect(ctx, connString)
				if err == nil {
					var v int
					if err = conn.QueryRow(ctx, "SELECT 1").Scan(&v); err == nil && v != 1 {
						err = fmt.Errorf("SELECT 1 returned %d", v)
					}
					conn.Close(ctx)
				}
				if err != nil {
					atomic.AddInt64(&failures, 1)
					firstError.CompareAndSwap(nil, err.Error())
				}
				latencies[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	done := int(next)
	if done > *n {
		done = *n
	}
	lat := append([]time.Duration(nil), latencies[:done]...)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	out := map[string]any{
		"logins": done, "failures": failures, "seconds": elapsed.Seconds(),
		"per_second": float64(done) / elapsed.Seconds(), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
	}
	if e := firstError.Load(); e != nil {
		out["first_error"] = e
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
