package main

// What the soak reads of the proxies from outside: /proc/PID (state, VmRSS, open descriptors),
// the kernel's listen-queue counters, and the events file (one JSON record per session).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

type proxyProc struct {
	name   string
	addr   string
	pid    int
	events string
}

// alive: the process exists and is neither a zombie nor dead.
func (p *proxyProc) alive() bool {
	s, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(s), "\n") {
		if strings.HasPrefix(line, "State:") {
			f := strings.Fields(line)
			return len(f) > 1 && f[1] != "Z" && f[1] != "X"
		}
	}
	return false
}

// rssKiB: VmRSS of the process, in KiB (-1 when unreadable).
func rssKiB(pid int) int64 {
	s, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(s), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) > 1 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return -1
}

// fdCount: entries of /proc/PID/fd (-1 when unreadable).
func fdCount(pid int) int {
	d, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(d)
}

// listenOverflows: TcpExt ListenOverflows and ListenDrops of the network namespace.
func listenOverflows() (int64, int64) {
	f, err := os.Open("/proc/net/netstat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var names []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		var over, drops int64
		for i := 1; i < len(fields) && i < len(names); i++ {
			v, _ := strconv.ParseInt(fields[i], 10, 64)
			switch names[i] {
			case "ListenOverflows":
				over = v
			case "ListenDrops":
				drops = v
			}
		}
		return over, drops
	}
	return 0, 0
}

// sessionRecord: the fields of a session record the soak checks.
type sessionRecord struct {
	Event   string  `json:"event"`
	ID      *uint64 `json:"id"`
	Client  string  `json:"client"`
	Started string  `json:"started"`
	Outcome string  `json:"outcome"`
}

type recordCheck struct {
	records     int
	badLines    int
	duplicateID int
	noOutcome   int
	unknownPeer int            // the client reset before the accept: no address
	matched     int            // records whose client port is one the soak opened
	missing     []*connEntry   // connections the soak opened with no record of their port
	extra       int            // records with a port the soak did not open
	outcomes    map[string]int // outcome -> records
}

// lost: connections without a record beyond those the reset-before-accept records stand for.
func (r recordCheck) lost() int { return len(r.missing) - r.unknownPeer }

// lostAnswered: connections without a record that the proxy had answered, so had accepted
// for certain: records the proxy lost.
func (r recordCheck) lostAnswered() int {
	n := 0
	for _, e := range r.missing {
		if e.answered.Load() {
			n++
		}
	}
	return n
}

// lostUnanswered: connections without a record the proxy never sent a byte to, beyond those
// the reset-before-accept records stand for. The kernel may have dropped them: with the accept
// queue full, a client's handshake completes on its side only, and a client that then leaves
// never reaches the proxy (counted in TcpExt ListenOverflows).
func (r recordCheck) lostUnanswered() int { return r.lost() - r.lostAnswered() }

// ok: the records are whole and unique, and every connection has one, except those the
// kernel may have dropped (lostUnanswered, judged against the overflow count by the caller).
func (r recordCheck) ok() bool {
	return r.badLines == 0 && r.duplicateID == 0 && r.noOutcome == 0 && r.extra == 0 &&
		r.lostAnswered() == 0 && r.lostUnanswered() >= 0
}

// missingByKind: the connections without a record of their port, by kind of client, with how
// many of them the proxy had answered (those it had certainly accepted).
func (r recordCheck) missingByKind() string {
	type n struct{ all, answered int }
	m := map[string]*n{}
	var kinds []string
	for _, e := range r.missing {
		if m[e.kind] == nil {
			m[e.kind] = &n{}
			kinds = append(kinds, e.kind)
		}
		m[e.kind].all++
		if e.answered.Load() {
			m[e.kind].answered++
		}
	}
	sort.Slice(kinds, func(a, b int) bool { return m[kinds[a]].all > m[kinds[b]].all })
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d (%d answered)", k, m[k].all, m[k].answered))
	}
	return strings.Join(parts, "; ")
}

// checkRecords reads the events file and matches its session records, by the client's port,
// with the connections the soak opened (a port can come back: the earliest unmatched wins).
func checkRecords(path string, opened []*connEntry) recordCheck {
	rc := recordCheck{outcomes: map[string]int{}}
	want := map[int][]*connEntry{}
	for _, e := range opened {
		want[e.port] = append(want[e.port], e)
	}
	f, err := os.Open(path)
	if err != nil {
		rc.badLines = 1
		rc.missing = opened
		return rc
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	ids := map[uint64]bool{}
	got := map[int][]time.Time{} // port -> the starts of its records
	for sc.Scan() {
		var r sessionRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Event == "" {
			rc.badLines++
			continue
		}
		if r.Event != "session" {
			continue
		}
		rc.records++
		if r.ID == nil || ids[*r.ID] {
			rc.duplicateID++
		} else {
			ids[*r.ID] = true
		}
		if r.Outcome == "" {
			rc.noOutcome++
		}
		rc.outcomes[r.Outcome]++
		i := strings.LastIndexByte(r.Client, ':')
		port, err := strconv.Atoi(r.Client[i+1:])
		if i < 0 || err != nil {
			rc.unknownPeer++
			continue
		}
		started, _ := time.Parse(time.RFC3339Nano, r.Started)
		got[port] = append(got[port], started)
	}
	for port, es := range want {
		starts := got[port]
		delete(got, port)
		if len(starts) > len(es) {
			rc.extra += len(starts) - len(es)
			starts = starts[:len(es)]
		}
		rc.matched += len(starts)
		rc.missing = append(rc.missing, align(es, starts)...)
	}
	for _, starts := range got {
		rc.extra += len(starts) // records of ports the soak never opened
	}
	return rc
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// align pairs the records of one port (their starts) with the connections the soak opened from
// that port and returns the connections left without a record. A port comes back only once its
// connection is gone, so both lists are in the same order; the records skip connections (those
// recorded with an unknown peer, or lost). The skipped ones are chosen so that as few answered
// connections as possible are skipped, then nearest in time: under load the driver notes a
// dial seconds after the kernel completed it, so time alone is not enough.
func align(es []*connEntry, starts []time.Time) []*connEntry {
	sort.Slice(es, func(a, b int) bool { return es[a].dialed.Before(es[b].dialed) })
	sort.Slice(starts, func(a, b int) bool { return starts[a].Before(starts[b]) })
	n, r := len(es), len(starts)
	if r == 0 {
		return es
	}
	if n > 16 { // never in practice: fall back to in-order pairing
		return es[r:]
	}
	type cost struct {
		answered int
		drift    time.Duration
	}
	better := func(a, b cost) bool {
		return a.answered < b.answered || a.answered == b.answered && a.drift < b.drift
	}
	var best []int
	bestCost := cost{answered: n + 1}
	pick := make([]int, 0, r)
	var walk func(i int)
	walk = func(i int) {
		if len(pick) == r {
			c := cost{}
			chosen := map[int]bool{}
			for k, j := range pick {
				chosen[j] = true
				c.drift += absDuration(es[j].dialed.Sub(starts[k]))
			}
			for j := range es {
				if !chosen[j] && es[j].answered.Load() {
					c.answered++
				}
			}
			if better(c, bestCost) {
				bestCost, best = c, append([]int(nil), pick...)
			}
			return
		}
		for j := i; j <= n-(r-len(pick)); j++ {
			pick = append(pick, j)
			walk(j + 1)
			pick = pick[:len(pick)-1]
		}
	}
	walk(0)
	chosen := map[int]bool{}
	for _, j := range best {
		chosen[j] = true
	}
	var left []*connEntry
	for j, e := range es {
		if !chosen[j] {
			left = append(left, e)
		}
	}
	return left
}
