// probe: one connection attempt with github.com/jackc/pgx/v5, one JSON line on stdout.
// Contract: the PostgreSQL section of probes/README.md.
//
// Every option is a keyword of pgx's libpq-style connection string (host port user password
// dbname sslmode sslrootcert channel_binding sslnegotiation connect_timeout), parsed by
// pgx.ParseConfig, so pgx judges the words itself. Before that the probe points HOME at a new
// empty directory (pgconn's defaults read ~/.postgresql/root.crt, postgresql.crt/.key,
// ~/.pgpass and ~/.pg_service.conf from os.UserHomeDir); ./probe drops the PG* variables.
// Unlike libpq, pgx with verify-ca/verify-full and no sslrootcert verifies against Go's
// system roots instead of failing.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const driverModule = "github.com/jackc/pgx/v5"

type result struct {
	Driver        string        `json:"driver"`
	Version       string        `json:"version"`
	Connected     bool          `json:"connected"`
	ErrorCode     any           `json:"error_code"`
	Error         *string       `json:"error"`
	Value         any           `json:"value"`
	SSL           *bool         `json:"ssl"`
	TLSVersion    string        `json:"tls_version,omitempty"`
	ALPN          string        `json:"alpn,omitempty"`
	SSLRootCert   *string       `json:"sslrootcert"`
	ServerVersion string        `json:"server_version,omitempty"`
	ErrorType     string        `json:"error_type,omitempty"`
	Cause         *string       `json:"cause,omitempty"`
	Unsupported   bool          `json:"unsupported,omitempty"`
	ElapsedMs     int64         `json:"elapsed_ms"`
	Session       []sessionStep `json:"session,omitempty"`
}

type sessionStep struct {
	Step      string  `json:"step"`
	Ok        bool    `json:"ok"`
	Value     any     `json:"value"`
	ErrorCode any     `json:"error_code"`
	Error     *string `json:"error"`
	ErrorType string  `json:"error_type,omitempty"`
	Protocol  string  `json:"protocol,omitempty"`
	ElapsedMs int64   `json:"elapsed_ms"`
}

// The session script (probes/README.md, PostgreSQL): step names and SQL, in order.
var sessionSteps = []struct{ name, sql string }{
	{"set", "SET application_name = 'tlslab-probe'"},
	{"show", "SHOW application_name"},
	{"begin", "BEGIN"},
	{"param", "SELECT $1::int"},
	{"commit", "COMMIT"},
	{"error", "SELECT * FROM tlslab_no_such_table"},
	{"again", "SELECT 1"},
}

// out is the real stdout; os.Stdout is pointed at stderr so that nothing else reaches it.
var out = os.Stdout

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "probe: "+msg)
	fmt.Fprintln(os.Stderr, "usage: probe --host H --port P [--ca FILE] [--encrypt disable|allow|prefer|require|verify-ca|verify-full]\n"+
		"             [--channel-binding disable|prefer|require] [--ssl-negotiation postgres|direct]\n"+
		"             [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS] [--session]")
	os.Exit(2)
}

func driverVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == driverModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

func emit(r result) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		b.Reset()
		b.WriteString(`{"driver":"pgx","version":null,"connected":false,"error_code":null,"error":"probe: cannot encode result","value":null}` + "\n")
	}
	out.WriteString(b.String())
}

func strp(s string) *string { return &s }

// errorFields: the SQLSTATE of a server error (*pgconn.PgError), else null (pgx has no codes
// of its own); error_type is the innermost wrapped error's type, cause its text.
func errorFields(err error) (code any, text *string, errType string, cause *string) {
	text = strp(err.Error())
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code = pe.Code
	}
	inner := err
	for {
		if u := errors.Unwrap(inner); u != nil {
			inner = u
		} else if j, ok := inner.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
			inner = j.Unwrap()[len(j.Unwrap())-1] // errors.Join: the last one is the newest
		} else {
			break
		}
	}
	errType = fmt.Sprintf("%T", inner)
	if inner != err {
		cause = strp(inner.Error())
	}
	return
}

// kvQuote quotes a value for a keyword/value connection string.
func kvQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

var wordRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func main() {
	os.Stdout = os.Stderr
	start := time.Now()

	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {}
	host := fs.String("host", "", "")
	port := fs.String("port", "", "")
	ca := fs.String("ca", "", "")
	encrypt := fs.String("encrypt", "", "")
	channelBinding := fs.String("channel-binding", "", "")
	sslNegotiation := fs.String("ssl-negotiation", "", "")
	user := fs.String("user", "lab", "")
	password := fs.String("password", "lab-password", "")
	database := fs.String("database", "lab", "")
	query := fs.String("query", "SELECT 1", "")
	timeoutS := fs.String("timeout", "10", "")
	session := fs.Bool("session", false, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage(err.Error())
	}
	if fs.NArg() > 0 {
		usage("unexpected argument " + fs.Arg(0))
	}
	if *host == "" || *port == "" {
		usage("--host and --port are required")
	}
	if p, err := strconv.Atoi(*port); err != nil || p < 1 || p > 65535 {
		usage("bad --port " + *port)
	}
	timeoutF, err := strconv.ParseFloat(*timeoutS, 64)
	if err != nil || timeoutF <= 0 || math.IsInf(timeoutF, 0) || math.IsNaN(timeoutF) {
		usage("bad --timeout " + *timeoutS)
	}
	if *encrypt != "" && !wordRE.MatchString(*encrypt) {
		usage("--encrypt must be one word")
	}
	switch *channelBinding {
	case "", "disable", "prefer", "require":
	default:
		usage("bad --channel-binding " + *channelBinding)
	}
	switch *sslNegotiation {
	case "", "postgres", "direct":
	default:
		usage("bad --ssl-negotiation " + *sslNegotiation)
	}
	if *ca != "" {
		if _, err := os.Stat(*ca); err != nil {
			usage("--ca: " + err.Error())
		}
	}
	timeout := time.Duration(timeoutF * float64(time.Second))

	// A private empty HOME (see the top of this file), removed at the end.
	home, err := os.MkdirTemp("", "tlslab-probe-home-")
	if err == nil {
		os.Setenv("HOME", home)
	} else {
		home = ""
	}

	kv := []string{
		"host=" + kvQuote(*host), "port=" + kvQuote(*port), "user=" + kvQuote(*user),
		"password=" + kvQuote(*password), "dbname=" + kvQuote(*database),
		"connect_timeout=" + strconv.Itoa(int(math.Ceil(timeoutF))),
	}
	if *encrypt != "" {
		kv = append(kv, "sslmode="+kvQuote(*encrypt))
	}
	if *ca != "" {
		kv = append(kv, "sslrootcert="+kvQuote(*ca))
	}
	if *channelBinding != "" {
		kv = append(kv, "channel_binding="+kvQuote(*channelBinding))
	}
	if *sslNegotiation != "" {
		kv = append(kv, "sslnegotiation="+kvQuote(*sslNegotiation))
	}

	r := result{Driver: "pgx", Version: driverVersion()}
	if *ca != "" {
		r.SSLRootCert = ca
	}

	// Hard bound: every phase (connect, query, each step) gets timeout + 1 s from its start;
	// the attempt announces each phase on `phases`.
	phases := make(chan string, 2*len(sessionSteps)+4)
	type outcome struct {
		r      result
		closer func()
	}
	done := make(chan outcome, 1)
	shared := &sharedState{}
	go func() {
		res, closer := attempt(r, strings.Join(kv, " "), *query, timeout, *session, phases, shared)
		done <- outcome{res, closer}
	}()
	grace := timeout + time.Second
	timer := time.NewTimer(grace)
	phase := "connect"
	var closer func()
wait:
	for {
		select {
		case o := <-done:
			r, closer = o.r, o.closer
			break wait
		case p := <-phases:
			phase = p
			timer.Reset(grace)
		case <-timer.C:
			r = shared.snapshot(r)
			msg := fmt.Sprintf("probe: hard timeout: the driver had not returned from %s 1s after its %v deadline", phase, timeout)
			if strings.HasPrefix(phase, "step ") {
				r.Session = append(r.Session, failedSteps(sessionSteps[len(r.Session):], "PROBE_TIMEOUT", msg)...)
			} else {
				r.ErrorCode, r.Error, r.ErrorType = "PROBE_TIMEOUT", strp(msg), "probe.hardTimeout"
				if *session {
					r.Session = failedSteps(sessionSteps, "PROBE_TIMEOUT", "not run: "+msg)
				}
			}
			break wait
		}
	}
	r.ElapsedMs = time.Since(start).Milliseconds()
	emit(r)
	if closer != nil { // bounded: the driver gets timeout, the probe one more second
		closed := make(chan struct{})
		go func() { closer(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(grace):
		}
	}
	if home != "" {
		os.RemoveAll(home)
	}
	os.Exit(0)
}

// sharedState: what the attempt has found out so far, for the hard timeout's report.
type sharedState struct {
	mu   sync.Mutex
	last *result
}

func (s *sharedState) publish(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = &r
}

func (s *sharedState) snapshot(r result) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return r
	}
	x := *s.last
	x.Session = append([]sessionStep(nil), s.last.Session...)
	return x
}

func failedSteps(steps []struct{ name, sql string }, code any, msg string) []sessionStep {
	outSteps := make([]sessionStep, 0, len(steps))
	for _, s := range steps {
		outSteps = append(outSteps, sessionStep{Step: s.name, ErrorCode: code, Error: strp(msg)})
	}
	return outSteps
}

// attempt connects and runs the query (and the session); it returns the result and, when it
// connected, the function that closes the connection (run after the line is out).
func attempt(r result, connString, query string, timeout time.Duration, session bool, phases chan<- string, shared *sharedState) (result, func()) {
	config, err := pgx.ParseConfig(connString)
	if err != nil {
		r.ErrorCode, r.Error, r.ErrorType, r.Cause = errorFields(err)
		if session {
			r.Session = failedSteps(sessionSteps, r.ErrorCode, "not run: no connection")
		}
		return r, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	conn, err := pgx.ConnectConfig(ctx, config)
	cancel()
	if err != nil {
		r.ErrorCode, r.Error, r.ErrorType, r.Cause = errorFields(err)
		if session {
			r.Session = failedSteps(sessionSteps, r.ErrorCode, "not run: no connection")
		}
		return r, nil
	}
	closer := func() {
		cctx, ccancel := context.WithTimeout(context.Background(), timeout)
		conn.Close(cctx) // Terminate, then the socket
		ccancel()
	}
	r.Connected = true
	tlsConn, isTLS := conn.PgConn().Conn().(*tls.Conn)
	r.SSL = &isTLS
	if isTLS {
		st := tlsConn.ConnectionState()
		r.TLSVersion = map[uint16]string{tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1",
			tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[st.Version]
		r.ALPN = st.NegotiatedProtocol
	}
	r.ServerVersion = conn.PgConn().ParameterStatus("server_version")
	shared.publish(r)

	scalar := func(ctx context.Context, q func(context.Context, string, ...any) pgx.Row, sql string, args ...any) (any, error) {
		var v any
		err := q(ctx, sql, args...).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		return v, err
	}

	if query != "" {
		phases <- "query"
		qctx, qcancel := context.WithTimeout(context.Background(), timeout)
		v, err := scalar(qctx, conn.QueryRow, query)
		qcancel()
		if err != nil {
			r.ErrorCode, r.Error, r.ErrorType, r.Cause = errorFields(err)
		} else {
			r.Value = v
		}
		shared.publish(r)
	}

	if session {
		var tx pgx.Tx
		noTx := errors.New("no transaction: the begin step failed")
		for _, s := range sessionSteps {
			phases <- "step '" + s.name + "'"
			step := sessionStep{Step: s.name}
			t := time.Now()
			sctx, scancel := context.WithTimeout(context.Background(), timeout)
			var v any
			var err error
			switch s.name {
			case "set":
				_, err = conn.Exec(sctx, s.sql) // no arguments: pgx uses the simple protocol
			case "begin":
				tx, err = conn.Begin(sctx) // sends "begin"
			case "param":
				step.Protocol = "extended"
				if tx == nil {
					err = noTx
				} else {
					v, err = scalar(sctx, tx.QueryRow, s.sql, 42)
				}
			case "commit":
				if tx == nil {
					err = noTx
				} else {
					err = tx.Commit(sctx) // sends "commit"
				}
			default: // show, error, again
				v, err = scalar(sctx, conn.QueryRow, s.sql)
			}
			scancel()
			if err != nil {
				step.ErrorCode, step.Error, step.ErrorType, _ = errorFields(err)
			} else {
				step.Ok, step.Value = true, v
			}
			step.ElapsedMs = time.Since(t).Milliseconds()
			r.Session = append(r.Session, step)
			shared.publish(r)
		}
	}
	return r, closer
}
