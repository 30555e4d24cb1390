// soak: the proxy under load and faults, then checked (tlslab issue 12; docs/soak.md).
//
//	soak upstream        the faulty upstream: refuses, stalls, resets (upstream.go)
//	soak run [flags]     the soak against running proxies (scripts/soak starts them)
//
// run: warm-up, baseline (fds, VmRSS of each proxy), -held concurrent MITM sessions logged in
// with real drivers validating the lab CA (go-mssqldb TDS 7.x and 8.0, pgx), then -rate new
// connections per second for -duration beside them (full logins, resets at every phase,
// garbage, sessions towards the faulty upstream), then the checks: every proxy is up and
// still accepts, every held session answers a query, no descriptor leaked, memory back to its
// level, every connection recorded exactly once with an outcome. Bounded by -deadline.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ExitOnError) }

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: soak upstream | soak run -proxy NAME,ADDR,PID,EVENTS ... -ca FILE")
	}
	switch os.Args[1] {
	case "upstream":
		runUpstream(os.Args[2:])
	case "run":
		os.Exit(runSoak(os.Args[2:]))
	case "recheck":
		os.Exit(recheck(os.Args[2:]))
	default:
		fatalf("unknown command %q", os.Args[1])
	}
}

type proxyList []*proxyProc

func (l *proxyList) String() string { return "" }
func (l *proxyList) Set(v string) error {
	f := strings.Split(v, ",")
	if len(f) != 4 {
		return fmt.Errorf("want NAME,ADDR,PID,EVENTS, got %q", v)
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil {
		return err
	}
	*l = append(*l, &proxyProc{name: f[0], addr: f[1], pid: pid, events: f[3]})
	return nil
}

// churnOp: one kind of connection of the churn phase.
type churnOp struct {
	name     string
	listener string
	login    bool // a full login expected to succeed
	run      func(ctx context.Context) error
	launched atomic.Int64
	failed   atomic.Int64
	timedOut atomic.Int64 // of failed: its deadline passed (overload, not a refusal)
	firstErr atomic.Value // the first failure that is not a timeout
	firstTO  atomic.Value // the first timeout
}

// shownErr: the first failure that is not a timeout, else the first timeout.
func (op *churnOp) shownErr() string {
	if v := op.firstErr.Load(); v != nil {
		return v.(string)
	}
	if v := op.firstTO.Load(); v != nil {
		return v.(string)
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return true
	}
	m := err.Error()
	return strings.Contains(m, "timeout") || strings.Contains(m, "deadline exceeded")
}

type procFigures struct {
	fdBefore, fdPeak, fdAfter    int
	rssBefore, rssPeak, rssAfter int64
}

func runSoak(args []string) int {
	fs := newFlagSet("run")
	var proxies proxyList
	fs.Var(&proxies, "proxy", "NAME,ADDR,PID,EVENTS of a proxy listener (repeat: tds7, tds8, pg, fault, refuse)")
	ca := fs.String("ca", "", "the lab CA (PEM) the drivers validate with")
	hostname := fs.String("hostname", "localhost", "the name the drivers check in the certificate")
	held := fs.Int("held", 300, "concurrent MITM sessions held (split over TDS 7.x, TDS 8.0, PostgreSQL)")
	rampConc := fs.Int("ramp-concurrency", 16, "logins in parallel while the held sessions are opened")
	rate := fs.Int("rate", 100, "new connections per second beside the held sessions")
	duration := fs.Duration("duration", 10*time.Second, "how long the new connections come")
	maxInflight := fs.Int("max-inflight", 4000, "churn connections in flight at most (later ones are skipped and counted)")
	opTimeout := fs.Duration("op-timeout", 25*time.Second, "bound of one churn connection")
	settle := fs.Duration("settle", 15*time.Second, "longest wait for the proxies to be quiet after the sessions closed")
	memFloor := fs.Int64("mem-floor-mib", 8, "memory check: VmRSS after may exceed before by this many MiB ...")
	memFraction := fs.Float64("mem-fraction", 0.25, "... or by this fraction of the rise to the peak, whichever is larger")
	deadline := fs.Duration("deadline", 15*time.Minute, "abandon the run after this long")
	jsonOut := fs.String("json", "", "also write the figures as JSON to FILE")
	connsOut := fs.String("conns", "", "also write every connection opened (listener, port, kind, dialled, answered) as JSON lines to FILE")
	fs.Parse(args)

	byName := map[string]*proxyProc{}
	addrs := map[string]string{}
	for _, p := range proxies {
		byName[p.name] = p
		addrs[p.name] = p.addr
	}
	for _, n := range []string{"tds7", "tds8", "pg", "fault", "refuse"} {
		if byName[n] == nil {
			fatalf("missing -proxy %s,...", n)
		}
	}
	if *ca == "" {
		fatalf("missing -ca")
	}
	sort.Slice(proxies, func(a, b int) bool { return order(proxies[a].name) < order(proxies[b].name) })
	t := &tracker{conns: map[string][]*connEntry{}, addrs: addrs}
	k, err := newClients(t, *ca, *hostname)
	if err != nil {
		fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}

	// 1. warm-up: what a proxy sets up once (contexts, lazily opened files) is not a leak.
	wctx := withKind(ctx, "warm-up")
	for _, l := range []string{"tds7", "tds8", "pg", "tds7", "tds8", "pg"} {
		if err := k.login(wctx, l); err != nil {
			say("warm-up login via %s failed: %v", l, err)
			return 1
		}
	}
	k.towardsFault(wctx, "fault", "close", true)
	k.towardsFault(wctx, "refuse", "refused", true)
	waitQuiet(ctx, proxies, t, nil, 10*time.Second)
	waitSteadyFds(proxies, 5*time.Second)

	// 2. baseline
	figs := map[string]*procFigures{}
	for _, p := range proxies {
		f := &procFigures{fdBefore: fdCount(p.pid), rssBefore: rssKiB(p.pid)}
		f.fdPeak, f.rssPeak = f.fdBefore, f.rssBefore
		figs[p.name] = f
	}
	over0, drops0 := listenOverflows()
	var sampleMu sync.Mutex
	sample := func() {
		sampleMu.Lock()
		defer sampleMu.Unlock()
		for _, p := range proxies {
			f := figs[p.name]
			f.fdPeak = max(f.fdPeak, fdCount(p.pid))
			f.rssPeak = max(f.rssPeak, rssKiB(p.pid))
		}
	}
	samplerDone := make(chan struct{})
	stopSampler := sync.OnceFunc(func() { close(samplerDone) })
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-samplerDone:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	say("baseline taken; opening %d held sessions (%d at a time)", *held, *rampConc)

	// 3. the held sessions
	split := []string{"tds7", "tds8", "pg"}
	sessions := make([]*heldSession, *held)
	var heldFailed atomic.Int64
	var heldErr atomic.Value
	rampStart := time.Now()
	parallel(*held, *rampConc, func(i int) {
		lctx, lcancel := context.WithTimeout(withKind(ctx, "held session"), 60*time.Second)
		defer lcancel()
		h, err := k.hold(lctx, split[i%3])
		if err != nil {
			heldFailed.Add(1)
			heldErr.CompareAndSwap(nil, split[i%3]+": "+err.Error())
			return
		}
		sessions[i] = h
	})
	rampSeconds := time.Since(rampStart).Seconds()
	say("held: %d of %d logged in in %.1f s (%.0f logins/s)%s", *held-int(heldFailed.Load()), *held,
		rampSeconds, float64(*held)/rampSeconds, firstErr(&heldErr))
	sample()

	// 4. the churn beside them
	ops := churnOps(k)
	var inflight, skipped atomic.Int64
	var wg sync.WaitGroup
	churnStart := time.Now()
	total := int(float64(*rate) * duration.Seconds())
	launched := 0
	for launched < total && ctx.Err() == nil {
		due := int(time.Since(churnStart).Seconds() * float64(*rate))
		for ; launched < due && launched < total; launched++ {
			op := ops[launched%len(ops)]
			if inflight.Load() >= int64(*maxInflight) {
				skipped.Add(1)
				continue
			}
			op.launched.Add(1)
			inflight.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer inflight.Add(-1)
				octx, ocancel := context.WithTimeout(withKind(ctx, op.name), *opTimeout)
				defer ocancel()
				if err := op.run(octx); err != nil {
					op.failed.Add(1)
					if isTimeout(err) {
						op.timedOut.Add(1)
						op.firstTO.CompareAndSwap(nil, err.Error())
					} else {
						op.firstErr.CompareAndSwap(nil, err.Error())
					}
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
	}
	churnSeconds := time.Since(churnStart).Seconds()
	say("churn: %d connections launched in %.1f s (%.0f/s), %d skipped (over %d in flight); waiting for %d in flight",
		launched-int(skipped.Load()), churnSeconds, float64(launched-int(skipped.Load()))/churnSeconds,
		skipped.Load(), *maxInflight, inflight.Load())
	waitGroup(&wg, *opTimeout+5*time.Second)
	sample()

	// 5. the checks under load: up, still accepting, every held session answers
	var fails, notes []string
	check := func(ok bool, format string, a ...any) {
		if !ok {
			fails = append(fails, fmt.Sprintf(format, a...))
		}
	}
	for _, p := range proxies {
		check(p.alive(), "proxy %s (pid %d) is not running", p.name, p.pid)
	}
	var queryFailed atomic.Int64
	var queryErr atomic.Value
	liveHeld := 0
	for _, h := range sessions {
		if h != nil {
			liveHeld++
		}
	}
	parallel(len(sessions), 64, func(i int) {
		if sessions[i] == nil {
			return
		}
		qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
		defer qcancel()
		if err := sessions[i].query(qctx); err != nil {
			queryFailed.Add(1)
			queryErr.CompareAndSwap(nil, sessions[i].listener+": "+err.Error())
		}
	})
	say("held sessions queried: %d of %d answered%s", liveHeld-int(queryFailed.Load()), liveHeld, firstErr(&queryErr))
	check(heldFailed.Load() == 0, "%d held sessions could not log in%s", heldFailed.Load(), firstErr(&heldErr))
	check(queryFailed.Load() == 0, "%d held sessions did not answer SELECT 1 after the churn%s", queryFailed.Load(), firstErr(&queryErr))
	actx := withKind(ctx, "after the churn")
	for _, l := range []string{"tds7", "tds8", "pg"} {
		err := k.login(actx, l)
		check(err == nil, "a new login via %s after the churn failed: %v", l, err)
	}
	for _, l := range []string{"fault", "refuse"} {
		err := k.towardsFault(actx, l, "close", true)
		check(err == nil, "a new connection via %s after the churn was not ended by the proxy: %v", l, err)
	}

	// 6. close the held sessions, 7. settle
	parallel(len(sessions), 64, func(i int) {
		if sessions[i] != nil {
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			sessions[i].close(cctx)
		}
	})
	stopSampler()
	settled := waitQuiet(ctx, proxies, t, figs, *settle)
	say("held sessions closed; proxies quiet after %.1f s", settled.Seconds())
	over1, drops1 := listenOverflows()
	for _, p := range proxies {
		f := figs[p.name]
		f.fdAfter, f.rssAfter = fdCount(p.pid), rssKiB(p.pid)
	}

	// 8. records
	checks := map[string]recordCheck{}
	for _, p := range proxies {
		checks[p.name] = checkRecords(p.events, t.opened(p.name))
	}

	// the figures
	fmt.Printf("\n%-7s %4s %7s %7s %7s %6s %6s %5s %5s | %5s %5s %5s | %7s %7s %7s %6s\n",
		"proxy", "up", "opened", "records", "matched", "reset", "dupid", "no-oc", "lost",
		"fd0", "fdmax", "fd1", "rss0", "rssmax", "rss1", "limit")
	unexplained := 0
	for _, p := range proxies {
		f, r := figs[p.name], checks[p.name]
		limit := *memFloor*1024 + int64(*memFraction*float64(f.rssPeak-f.rssBefore))
		limit = max(limit, *memFloor*1024)
		up := "yes"
		if !p.alive() {
			up = "NO"
		}
		opened := len(t.opened(p.name))
		fmt.Printf("%-7s %4s %7d %7d %7d %6d %6d %5d %5d | %5d %5d %5d | %6.1fM %6.1fM %6.1fM %5.1fM\n",
			p.name, up, opened, r.records, r.matched, r.unknownPeer, r.duplicateID, r.noOutcome,
			r.lost(), f.fdBefore, f.fdPeak, f.fdAfter,
			mib(f.rssBefore), mib(f.rssPeak), mib(f.rssAfter), mib(limit))
		check(f.fdAfter == f.fdBefore, "proxy %s: %d descriptors after, %d before (leak of %d)",
			p.name, f.fdAfter, f.fdBefore, f.fdAfter-f.fdBefore)
		check(f.rssAfter-f.rssBefore <= limit,
			"proxy %s: VmRSS %.1f MiB after, %.1f MiB before: %.1f MiB more than the %.1f MiB allowed",
			p.name, mib(f.rssAfter), mib(f.rssBefore), mib(f.rssAfter-f.rssBefore-limit), mib(limit))
		unexplained += max(r.lostUnanswered(), 0)
		check(r.ok(),
			"proxy %s: %d connections opened, %d records (%d matched by port, %d reset before accept, %d lost though answered, %d unknown, %d duplicate ids, %d without outcome, %d unreadable lines); without a record of their port: %s",
			p.name, opened, r.records, r.matched, r.unknownPeer, r.lostAnswered(), r.extra,
			r.duplicateID, r.noOutcome, r.badLines, r.missingByKind())
	}
	over, drops := over1-over0, drops1-drops0
	if unexplained > 0 {
		fmt.Printf("\n%d connections have no record and were never answered by the proxy; the kernel "+
			"counted %d listen-queue overflows meanwhile (a client whose handshake completed while the "+
			"accept queue was full, and which then left, never reached the proxy)\n", unexplained, over)
		for _, p := range proxies {
			if r := checks[p.name]; r.lost() > 0 {
				fmt.Printf("  %s, without a record of their port: %s\n", p.name, r.missingByKind())
			}
		}
	}
	check(unexplained <= int(over),
		"%d connections without a record were never answered, more than the %d listen-queue overflows can explain",
		unexplained, over)
	fmt.Println("\noutcomes recorded:")
	for _, p := range proxies {
		fmt.Printf("  %-7s %s\n", p.name, formatOutcomes(checks[p.name].outcomes))
	}
	fmt.Printf("\n%-40s %8s %7s %7s  %s\n", "churn connection", "launched", "not-ok", "timeout", "first not-ok")
	printed := map[*churnOp]bool{}
	for _, op := range ops {
		if printed[op] {
			continue
		}
		printed[op] = true
		e := op.shownErr()
		if len(e) > 90 {
			e = e[:90] + "..."
		}
		fmt.Printf("%-40s %8d %7d %7d  %s\n", op.name, op.launched.Load(), op.failed.Load(), op.timedOut.Load(), e)
		if op.login {
			// Not a check: on an overloaded machine logins time out, and the proxy resets a
			// client whose upstream (a stand-in with a full accept queue) did not answer in time.
			if full, _ := op.firstErr.Load().(string); full != "" {
				notes = append(notes, fmt.Sprintf("%s: %d of %d failed other than by a timeout (first: %s)",
					op.name, op.failed.Load()-op.timedOut.Load(), op.launched.Load(), full))
			}
		}
	}
	fmt.Printf("\nheld %d (%d logged in, %.0f logins/s ramp), churn %d at %.0f/s for %.1f s (%d skipped), "+
		"listen queue overflows %d, drops %d, total %.1f s\n",
		*held, liveHeld, float64(*held)/rampSeconds, launched-int(skipped.Load()),
		float64(launched-int(skipped.Load()))/churnSeconds, churnSeconds, skipped.Load(),
		over, drops, time.Since(start).Seconds())
	check(ctx.Err() == nil, "the run hit its deadline (%s)", *deadline)

	if *connsOut != "" {
		writeConns(*connsOut, proxies, t)
	}
	if *jsonOut != "" {
		writeJSON(*jsonOut, proxies, figs, checks, t, ops, *held, liveHeld, rampSeconds,
			launched-int(skipped.Load()), churnSeconds, fails)
	}
	for _, n := range notes {
		fmt.Println("note: " + n)
	}
	if len(fails) > 0 {
		fmt.Println("\nFAILED:")
		for _, f := range fails {
			fmt.Println("  " + f)
		}
		return 1
	}
	fmt.Println("\nall checks passed")
	return 0
}

func order(name string) int {
	return strings.Index("tds7 tds8 pg   fault refuse", name)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func firstErr(v *atomic.Value) string {
	if e := v.Load(); e != nil {
		return " (first: " + e.(string) + ")"
	}
	return ""
}

func formatOutcomes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return m[keys[a]] > m[keys[b]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// parallel runs f(0..n-1) on c workers.
func parallel(n, c int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

func waitGroup(wg *sync.WaitGroup, bound time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
	}
}

// waitQuiet waits (bounded) until every proxy has written a record for every connection the
// soak opened to it and, once a baseline exists, is back to its descriptor count.
func waitQuiet(ctx context.Context, proxies proxyList, t *tracker, figs map[string]*procFigures, bound time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < bound && ctx.Err() == nil {
		quiet := true
		for _, p := range proxies {
			if countSessionRecords(p.events) < len(t.opened(p.name)) {
				quiet = false
			}
			if figs != nil && fdCount(p.pid) > figs[p.name].fdBefore {
				quiet = false
			}
		}
		if quiet {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start)
}

// waitSteadyFds waits (bounded) until no proxy's descriptor count changed for a second: a
// session's record is written before its handles are closed, so the last descriptors of the
// warm-up may still be open when its records are complete.
func waitSteadyFds(proxies proxyList, bound time.Duration) {
	counts := func() []int {
		var c []int
		for _, p := range proxies {
			c = append(c, fdCount(p.pid))
		}
		return c
	}
	start, last, since := time.Now(), counts(), time.Now()
	for time.Since(start) < bound && time.Since(since) < time.Second {
		time.Sleep(100 * time.Millisecond)
		if now := counts(); fmt.Sprint(now) != fmt.Sprint(last) {
			last, since = now, time.Now()
		}
	}
}

func countSessionRecords(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), `"event":"session"`)
}

func churnOps(k *clients) []*churnOp {
	var ops []*churnOp
	add := func(name, listener string, login bool, run func(ctx context.Context) error) {
		ops = append(ops, &churnOp{name: name, listener: listener, login: login, run: run})
	}
	names := map[string]string{"tds7": "TDS 7.x", "tds8": "TDS 8.0", "pg": "PostgreSQL"}
	for _, l := range []string{"tds7", "tds8", "pg"} {
		n := names[l]
		add(n+" login, SELECT 1, disconnect", l, true, func(ctx context.Context) error { return k.login(ctx, l) })
		add(n+" reset before any byte", l, false, func(ctx context.Context) error { return k.resetAtConnect(ctx, l) })
		if l == "tds8" {
			add(n+" reset after ClientHello", l, false, func(ctx context.Context) error { return k.resetMidHandshake(ctx, l, true) })
		} else {
			what := map[string]string{"tds7": "PRELOGIN", "pg": "SSLRequest"}[l]
			add(n+" reset after "+what, l, false, func(ctx context.Context) error { return k.resetAfterNegotiation(ctx, l) })
		}
		add(n+" reset mid-TLS-handshake", l, false, func(ctx context.Context) error { return k.resetMidHandshake(ctx, l, false) })
		add(n+" login, SELECT 1, disconnect", l, true, func(ctx context.Context) error { return k.login(ctx, l) })
		add(n+" reset after login", l, false, func(ctx context.Context) error { return k.resetAfterLogin(ctx, l, false) })
		add(n+" reset mid-result", l, false, func(ctx context.Context) error { return k.resetAfterLogin(ctx, l, true) })
		add(n+" garbage (random bytes)", l, false, func(ctx context.Context) error { return k.garbage(ctx, l) })
		add(n+" garbage (huge length)", l, false, func(ctx context.Context) error { return k.hugeLength(ctx, l) })
	}
	add("upstream refuses", "refuse", false, func(ctx context.Context) error { return k.towardsFault(ctx, "refuse", "refused", true) })
	add("upstream stalls, client gives up", "fault", false, func(ctx context.Context) error { return k.towardsFault(ctx, "fault", "stall", false) })
	add("upstream stalls, proxy times out", "fault", false, func(ctx context.Context) error { return k.towardsFault(ctx, "fault", "stall", true) })
	add("upstream resets", "fault", false, func(ctx context.Context) error { return k.towardsFault(ctx, "fault", "reset", true) })
	add("upstream closes", "fault", false, func(ctx context.Context) error { return k.towardsFault(ctx, "fault", "close", true) })
	add("upstream answers garbage", "fault", false, func(ctx context.Context) error { return k.towardsFault(ctx, "fault", "garbage", true) })
	// merge the duplicated login rows for the table (they share counters by name)
	merged := map[string]*churnOp{}
	var out []*churnOp
	for _, op := range ops {
		if m, ok := merged[op.name]; ok {
			out = append(out, m)
			continue
		}
		merged[op.name] = op
		out = append(out, op)
	}
	return out
}

func writeJSON(path string, proxies proxyList, figs map[string]*procFigures, checks map[string]recordCheck,
	t *tracker, ops []*churnOp, held, liveHeld int, rampSeconds float64, churn int, churnSeconds float64, fails []string) {
	type proxyOut struct {
		Name              string         `json:"name"`
		Opened            int            `json:"opened"`
		Records           int            `json:"records"`
		Matched           int            `json:"matched"`
		ResetBeforeAccept int            `json:"reset_before_accept"`
		Lost              int            `json:"lost"`
		DuplicateIDs      int            `json:"duplicate_ids"`
		Fd                [3]int         `json:"fd_before_peak_after"`
		Rss               [3]int64       `json:"vmrss_kib_before_peak_after"`
		Outcomes          map[string]int `json:"outcomes"`
	}
	var ps []proxyOut
	for _, p := range proxies {
		f, r := figs[p.name], checks[p.name]
		ps = append(ps, proxyOut{Name: p.name, Opened: len(t.opened(p.name)), Records: r.records,
			Matched: r.matched, ResetBeforeAccept: r.unknownPeer, Lost: r.lost(),
			DuplicateIDs: r.duplicateID, Fd: [3]int{f.fdBefore, f.fdPeak, f.fdAfter},
			Rss: [3]int64{f.rssBefore, f.rssPeak, f.rssAfter}, Outcomes: r.outcomes})
	}
	seen := map[*churnOp]bool{}
	var os_ []map[string]any
	for _, op := range ops {
		if seen[op] {
			continue
		}
		seen[op] = true
		os_ = append(os_, map[string]any{"name": op.name, "launched": op.launched.Load(),
			"not_ok": op.failed.Load(), "timed_out": op.timedOut.Load()})
	}
	b, _ := json.MarshalIndent(map[string]any{
		"held": held, "held_logged_in": liveHeld, "ramp_seconds": rampSeconds,
		"churn_connections": churn, "churn_seconds": churnSeconds,
		"proxies": ps, "churn": os_, "failures": fails,
	}, "", "  ")
	os.WriteFile(path, b, 0o644)
}

func writeConns(path string, proxies proxyList, t *tracker) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, p := range proxies {
		for _, e := range t.opened(p.name) {
			enc.Encode(map[string]any{"listener": p.name, "port": e.port, "kind": e.kind,
				"dialed": e.dialed.UTC().Format(time.RFC3339Nano), "answered": e.answered.Load()})
		}
	}
}

// recheck matches a kept run again (scripts/soak --keep): its connections.jsonl and the events
// file of each listener named, for a post-mortem of the records check.
func recheck(args []string) int {
	fs := newFlagSet("recheck")
	dir := fs.String("dir", "", "the kept work directory")
	fs.Parse(args)
	f, err := os.Open(*dir + "/connections.jsonl")
	if err != nil {
		fatalf("%v", err)
	}
	defer f.Close()
	byListener := map[string][]*connEntry{}
	dec := json.NewDecoder(f)
	for {
		var c struct {
			Listener, Kind, Dialed string
			Port                   int
			Answered               bool
		}
		if dec.Decode(&c) != nil {
			break
		}
		e := &connEntry{port: c.Port, kind: c.Kind}
		e.dialed, _ = time.Parse(time.RFC3339Nano, c.Dialed)
		e.answered.Store(c.Answered)
		byListener[c.Listener] = append(byListener[c.Listener], e)
	}
	status := 0
	for _, name := range []string{"tds7", "tds8", "pg", "fault", "refuse"} {
		r := checkRecords(*dir+"/"+name+".jsonl", byListener[name])
		fmt.Printf("%-7s opened %d, records %d, matched %d, reset before accept %d, lost though answered %d, never answered %d\n",
			name, len(byListener[name]), r.records, r.matched, r.unknownPeer, r.lostAnswered(), r.lostUnanswered())
		if r.lost() > 0 {
			fmt.Printf("        without a record of their port: %s\n", r.missingByKind())
		}
		if !r.ok() {
			status = 1
		}
	}
	return status
}
