// logins: a load client for tlslab benchmarks. C workers open N connections in total through
// go-mssqldb with full TLS and certificate validation, run SELECT 1, close; it prints one JSON
// line with the rate and latency percentiles. Bounded by -n and -deadline.
//
// -hold N instead opens N connections (C at a time), logs each in and keeps it open and idle;
// it prints {"held": N, "failures": F} once all are open, waits until its stdin closes, then
// closes them and exits: the caller measures what an idle session costs meanwhile.
//
// -pull ROWS instead logs in once and runs `EXEC tlslab_bulk_rows ROWS, -width` (the stand-in's
// bulk rowset) -n times on that connection, reading every row through the driver; it prints
// {"rows": R, "bytes": B, "seconds": S, "mib_s": M} (B counts the payload column only).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

func main() {
	host := flag.String("host", "localhost", "server host")
	port := flag.Int("port", 0, "server port")
	ca := flag.String("ca", "", "CA file (PEM) to validate the server with")
	encrypt := flag.String("encrypt", "true", "go-mssqldb encrypt value")
	n := flag.Int("n", 200, "logins in total")
	c := flag.Int("c", 4, "concurrent workers")
	deadline := flag.Duration("deadline", 60*time.Second, "stop after this long whatever happened")
	hold := flag.Int("hold", 0, "open this many logged-in connections and hold them until stdin closes")
	pull := flag.Int("pull", 0, "rows per query of the stand-in's bulk rowset to read, -n queries")
	width := flag.Int("width", 1000, "with -pull: bytes per row")
	flag.Parse()
	if *port == 0 || *ca == "" {
		fmt.Fprintln(os.Stderr, "usage: logins -port P -ca FILE [-n N] [-c C]")
		os.Exit(2)
	}
	q := url.Values{}
	q.Set("encrypt", *encrypt)
	q.Set("certificate", *ca)
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword("lab", "lab-password"),
		Host: fmt.Sprintf("%s:%d", *host, *port), RawQuery: q.Encode()}
	connector, err := mssql.NewConnector(u.String())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	if *hold > 0 {
		holdConnections(ctx, connector, *hold, *c)
		return
	}
	if *pull > 0 {
		pullRows(ctx, connector, *pull, *width, *n)
		return
	}
	var next, failures int64
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
				db := sql.OpenDB(connector)
				db.SetMaxOpenConns(1)
				var v int
				if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&v); err != nil || v != 1 {
					atomic.AddInt64(&failures, 1)
				}
				db.Close()
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
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"logins": done, "failures": failures, "seconds": elapsed.Seconds(),
		"per_second": float64(done) / elapsed.Seconds(), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
	})
}

// holdConnections opens n logged-in connections, c at a time, reports, and holds them until
// stdin closes.
func holdConnections(ctx context.Context, connector *mssql.Connector, n, c int) {
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(n)
	db.SetMaxOpenConns(n)
	db.SetConnMaxIdleTime(0)
	conns := make([]*sql.Conn, n)
	var next, failures int64
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				conn, err := db.Conn(ctx)
				if err == nil {
					err = conn.PingContext(ctx)
				}
				if err != nil {
					atomic.AddInt64(&failures, 1)
					continue
				}
				conns[i] = conn
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{"held": n - int(failures), "failures": failures})
	buf := make([]byte, 64)
	for {
		if _, err := os.Stdin.Read(buf); err != nil {
			break
		}
	}
	for _, conn := range conns {
		if conn != nil {
			conn.Close()
		}
	}
	db.Close()
}

// pullRows reads the stand-in's bulk rowset `queries` times over one connection.
func pullRows(ctx context.Context, connector *mssql.Connector, rows, width, queries int) {
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "login:", err)
		os.Exit(1)
	}
	var total, bytes int64
	start := time.Now()
	for q := 0; q < queries; q++ {
		r, err := db.QueryContext(ctx, "EXEC tlslab_bulk_rows @rows, @width",
			sql.Named("rows", rows), sql.Named("width", width))
		if err != nil {
			fmt.Fprintln(os.Stderr, "query:", err)
			os.Exit(1)
		}
		var n int64
		var payload []byte
		for r.Next() {
			if err := r.Scan(&n, &payload); err != nil {
				fmt.Fprintln(os.Stderr, "scan:", err)
				os.Exit(1)
			}
			total++
			bytes += int64(len(payload))
		}
		if err := r.Err(); err != nil {
			fmt.Fprintln(os.Stderr, "rows:", err)
			os.Exit(1)
		}
		r.Close()
	}
	secs := time.Since(start).Seconds()
	json.NewEncoder(os.Stdout).Encode(map[string]any{"rows": total, "bytes": bytes,
		"seconds": secs, "mib_s": float64(bytes) / (1 << 20) / secs})
}
