// probe: one connection attempt with github.com/microsoft/go-mssqldb, one JSON line on stdout.
// Contract: probes/README.md (--session: its "The session script" section; what
// go-mssqldb sends for each step: tests/integration/test_client_go_tsql.py).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	mssql "github.com/microsoft/go-mssqldb"
)

const driverModule = "github.com/microsoft/go-mssqldb"

// result is the contract's JSON line; extra fields are allowed and ignored by consumers.
type result struct {
	Driver    string  `json:"driver"`
	Version   string  `json:"version"`
	Connected bool    `json:"connected"`
	ErrorCode any     `json:"error_code"`
	Error     *string `json:"error"`
	Value     any     `json:"value"`
	Cause     *string `json:"cause,omitempty"`
	ErrorType string  `json:"error_type,omitempty"`
	ElapsedMs int64   `json:"elapsed_ms"`
	// --repeat only: which run of the query this line is (1-based), how many TCP
	// connections the driver had tried to open so far, and the local port of the newest
	// one that connected (0 if none).
	Iteration *int `json:"iteration,omitempty"`
	Dials     *int `json:"dials,omitempty"`
	LocalPort *int `json:"local_port,omitempty"`
	// --session only: the session script's steps, and how many TCP connections the pool
	// opened for the whole run (1 when the one connection held).
	Session     []sessionStep `json:"session,omitempty"`
	Connections *int          `json:"connections_opened,omitempty"`
}

// sessionStep is one step of the --session script (probes/README.md).
type sessionStep struct {
	Step      string  `json:"step"`
	Ok        bool    `json:"ok"`
	Value     any     `json:"value"`
	ErrorCode any     `json:"error_code"`
	Error     *string `json:"error"`
	Row       []any   `json:"row,omitempty"` // system: every column, as strings (null for NULL)
	ErrorType string  `json:"error_type,omitempty"`
	ElapsedMs int64   `json:"elapsed_ms"`
}

// sessionStepNames: the script's steps, in order.
var sessionStepNames = []string{"begin", "trancount", "system", "param", "commit",
	"trancount_after", "error", "again"}

const systemSQL = "SELECT @@SPID, DB_NAME(), SUSER_SNAME(), SERVERPROPERTY('ProductVersion'), @@VERSION, GETDATE()"

// progress is what the attempt goroutine tells main: a new phase has begun (its bound
// starts now) and, in a session, the step that just ended.
type progress struct {
	phase string
	step  *sessionStep
	res   *result // the login's and the query's outcome, once the session starts
}

// out is the real stdout; os.Stdout is pointed at stderr so that nothing the driver
// prints (go-mssqldb has a stray fmt.Println in token.go) can reach the JSON channel.
var out = os.Stdout

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "probe: "+msg)
	fmt.Fprintln(os.Stderr, "usage: probe --host H --port P [--ca FILE] [--encrypt true|false|mandatory|optional|disable|strict]\n"+
		"             [--trust-server-certificate] [--host-name-in-certificate NAME]\n"+
		"             [--user U] [--password P] [--query SQL] [--timeout SECONDS]\n"+
		"             [--repeat N [--pause-ms M] | --session]")
	os.Exit(2)
}

// driverVersion reads the pinned module version from the binary's build info.
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
	enc.SetEscapeHTML(false)              // keep "->" in Go's network errors readable
	if err := enc.Encode(r); err != nil { // cannot happen for our types; never print nothing
		b.Reset()
		b.WriteString(`{"driver":"go","version":null,"connected":false,"error_code":null,"error":"probe: cannot encode result","value":null}` + "\n")
	}
	out.WriteString(b.String()) // Encode ends the line with '\n'

}

// fillError sets error, error_code, cause and error_type from a driver error.
func fillError(r *result, err error) {
	s := err.Error()
	r.Error = &s
	r.ErrorType = fmt.Sprintf("%T", err)
	// SQL Server errors (login failed = 18456) come as mssql.Error, possibly wrapped
	// (e.g. in mssql.ServerError). go-mssqldb has no error codes of its own.
	var me mssql.Error
	if errors.As(err, &me) {
		r.ErrorCode = me.Number
	}
	// The directly wrapped cause, when the driver wraps with %w (it uses %v for TLS
	// handshake failures, so those carry no separate cause).
	if inner := errors.Unwrap(err); inner != nil {
		c := inner.Error()
		r.Cause = &c
	}
}

func main() {
	os.Stdout = os.Stderr

	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {} // usage() below prints the contract line
	host := fs.String("host", "", "")
	port := fs.String("port", "", "")
	ca := fs.String("ca", "", "")
	encrypt := fs.String("encrypt", "", "")
	trust := fs.Bool("trust-server-certificate", false, "")
	hnic := fs.String("host-name-in-certificate", "", "")
	user := fs.String("user", "lab", "")
	password := fs.String("password", "lab-password", "")
	query := fs.String("query", "SELECT 1", "")
	timeoutS := fs.String("timeout", "10", "")
	repeat := fs.Int("repeat", 0, "")
	pauseMs := fs.Int("pause-ms", 0, "")
	session := fs.Bool("session", false, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage(err.Error())
	}
	if fs.NArg() > 0 {
		usage("unexpected argument " + fs.Arg(0))
	}
	if *repeat < 0 || *pauseMs < 0 {
		usage("--repeat and --pause-ms must not be negative")
	}
	if *pauseMs > 0 && *repeat == 0 {
		usage("--pause-ms needs --repeat")
	}
	if *session && *repeat > 0 {
		usage("--session and --repeat do not go together")
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
	timeout := time.Duration(timeoutF * float64(time.Second))
	// go-mssqldb's timeouts are whole seconds.
	timeoutSecs := strconv.Itoa(int(math.Ceil(timeoutF)))

	// URL-style DSN: sqlserver://user:password@host:port?params. url.URL escapes the
	// credentials and net.JoinHostPort brackets IPv6 literals.
	q := url.Values{}
	if *encrypt != "" { // absent -> driver default (which also sets TrustServerCertificate=true)
		q.Set("encrypt", *encrypt)
	}
	if *trust {
		q.Set("TrustServerCertificate", "true")
	}
	if *ca != "" {
		// go-mssqldb's CA-file parameter; the file name must end in .pem or .der.
		q.Set("certificate", *ca)
	}
	if *hnic != "" {
		q.Set("hostNameInCertificate", *hnic)
	}
	q.Set("dial timeout", timeoutSecs)       // TCP connect
	q.Set("connection timeout", timeoutSecs) // per read/write deadline on the socket
	q.Set("app name", "tlslab-probe-go")
	dsn := (&url.URL{
		Scheme:   "sqlserver",
		User:     url.UserPassword(*user, *password),
		Host:     net.JoinHostPort(*host, *port),
		RawQuery: q.Encode(),
	}).String()

	r := result{Driver: "go", Version: driverVersion()}
	if *repeat > 0 {
		repeatRuns(r, dsn, *query, timeout, *repeat, time.Duration(*pauseMs)*time.Millisecond)
		os.Exit(0)
	}
	start := time.Now()

	// Hard bound. The driver is given the deadlines above, but it does not honour them
	// everywhere: it ignores the context during login, and with encrypt=strict it builds
	// the TLS connection on the raw socket, so neither the handshake nor the TDS reads
	// after it get the connection timeout (a silent server hangs it for ever). If a phase
	// outlives its deadline by more than a grace second, give up on the driver and say so.
	// Every phase (login, query, each session step) is announced on `phases` when it begins.
	phases := make(chan progress, 2*len(sessionStepNames)+2) // never blocks the sender
	done := make(chan result, 1)
	go func() { done <- attempt(r, dsn, *query, timeout, *session, phases) }()
	grace := timeout + time.Second
	phase := "login"
	var steps []sessionStep // --session: the steps that ended so far
	phaseStart := start
	timer := time.NewTimer(grace)
wait:
	for {
		select {
		case r = <-done:
			break wait
		case p := <-phases:
			if p.step != nil {
				steps = append(steps, *p.step)
			}
			if p.res != nil {
				r = *p.res
			}
			phase = p.phase
			phaseStart = time.Now()
			r.Connected = true
			timer.Reset(grace)
		case <-timer.C:
			s := fmt.Sprintf("probe: hard timeout: the driver had not returned from %s 1s after its %v deadline", phase, timeout)
			if strings.HasPrefix(phase, "session step ") {
				// The login and the query are over (their outcome is in r already): the
				// hung step and the ones after it fail with the hard timeout.
				rest := failedSteps(sessionStepNames[len(steps):], nil, s, "probe.hardTimeout")
				rest[0].ElapsedMs = time.Since(phaseStart).Milliseconds()
				r.Session = append(steps, rest...)
				break wait
			}
			r.Error = &s
			r.ErrorType = "probe.hardTimeout"
			if *session {
				r.Session = failedSteps(sessionStepNames, nil, "not run: "+s, "probe.hardTimeout")
			}
			break wait
		}
	}
	r.ElapsedMs = time.Since(start).Milliseconds()
	emit(r)
	os.Exit(0)
}

// attempt connects (login) and runs the query, each under its own context deadline; with
// session, it then runs the session script through the pool (runSession).
func attempt(r result, dsn, query string, timeout time.Duration, session bool, phases chan<- progress) result {
	connector, err := mssql.NewConnector(dsn)
	if err != nil {
		fillError(&r, err)
		if session {
			r.Session = failedSteps(sessionStepNames, r.ErrorCode, "not run: no login ("+*r.Error+")", r.ErrorType)
		}
		return r
	}
	var dialer *countingDialer
	if session {
		// Counts the connections the pool opens over the whole session (the same dialer
		// settings as go-mssqldb's own: a net.Dialer with 30 s keep-alive).
		dialer = &countingDialer{}
		connector.Dialer = dialer
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	// One dedicated connection: sql.Conn never retries on another connection, so the
	// proxy sees exactly one login attempt.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		fillError(&r, err)
		if session {
			r.Session = failedSteps(sessionStepNames, r.ErrorCode, "not run: no login ("+*r.Error+")", r.ErrorType)
			n, _ := dialer.snapshot()
			r.Connections = &n
		}
		return r
	}
	defer conn.Close()
	r.Connected = true
	phases <- progress{phase: "query"}

	qctx, qcancel := context.WithTimeout(context.Background(), timeout)
	defer qcancel()
	var v any
	err = conn.QueryRowContext(qctx, query).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		fillError(&r, err)
	default:
		r.Value = jsonValue(v)
	}
	if session {
		// Give the connection back to the pool, as an application's finished query does;
		// the session then takes it from the pool (database/sql reuses the idle connection,
		// and go-mssqldb marks its next request with RESETCONNECTION).
		conn.Close()
		rc := r
		phases <- progress{phase: "session", res: &rc}
		r.Session = runSession(db, timeout, phases)
		n, _ := dialer.snapshot()
		r.Connections = &n
	}
	return r
}

// runSession runs the session script the way a database/sql application does: db.BeginTx
// (go-mssqldb: a TM_BEGIN_XACT request), the next three steps through the Tx (SQL batches,
// and an sp_executesql RPC for the parameter), tx.Commit (TM_COMMIT_XACT), then the last
// three through the pool. Each step is bounded by timeout; a failed step does not stop it.
func runSession(db *sql.DB, timeout time.Duration, phases chan<- progress) []sessionStep {
	var steps []sessionStep
	// The Tx's context must live until the commit (database/sql rolls back a Tx whose context
	// ends, and go-mssqldb reads the begin's and the commit's answers under it): it is
	// cancelled when the begin or the commit step outlives its bound, or at the end.
	txCtx, txCancel := context.WithCancel(context.Background())
	defer txCancel()
	var tx *sql.Tx

	// scalar runs a query through q (the Tx or the pool) and reads the first row.
	type querier interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	scalar := func(ctx context.Context, q querier, query string, args ...any) (any, []any, error) {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		if !rows.Next() {
			return nil, nil, rows.Err()
		}
		cols, err := rows.Columns()
		if err != nil {
			return nil, nil, err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		for rows.Next() { // drain, so that an error after the first row is seen
		}
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		var first any
		if len(vals) > 0 {
			first = jsonValue(vals[0])
		}
		return first, vals, nil
	}
	noTx := errors.New("no transaction: the begin step failed")

	for _, name := range sessionStepNames {
		phases <- progress{phase: fmt.Sprintf("session step '%s'", name), step: lastStep(steps)}
		step := sessionStep{Step: name}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var value any
		var row []any
		var err error
		switch name {
		case "begin":
			// go-mssqldb reads the begin's answer under txCtx, which has no deadline of its
			// own: cancelling it after the step's bound ends the Tx (database/sql rolls back).
			bound := time.AfterFunc(timeout, txCancel)
			tx, err = db.BeginTx(txCtx, nil)
			bound.Stop()
		case "trancount", "system", "param":
			if tx == nil {
				err = noTx
				break
			}
			switch name {
			case "trancount":
				value, _, err = scalar(ctx, tx, "SELECT @@TRANCOUNT")
			case "system":
				value, row, err = scalar(ctx, tx, systemSQL)
			default:
				value, _, err = scalar(ctx, tx, "SELECT @p1", 42)
			}
		case "commit":
			if tx == nil {
				err = noTx
				break
			}
			bound := time.AfterFunc(timeout, txCancel)
			err = tx.Commit()
			bound.Stop()
		case "trancount_after":
			value, _, err = scalar(ctx, db, "SELECT @@TRANCOUNT")
		case "error":
			value, _, err = scalar(ctx, db, "SELECT * FROM tlslab_no_such_table")
		case "again":
			value, _, err = scalar(ctx, db, "SELECT 1")
		}
		cancel()
		if err != nil {
			var tmp result
			fillError(&tmp, err)
			step.ErrorCode, step.Error, step.ErrorType = tmp.ErrorCode, tmp.Error, tmp.ErrorType
		} else {
			step.Ok = true
			step.Value = value
			if row != nil {
				step.Row = make([]any, len(row))
				for i, c := range row {
					step.Row[i] = textOf(c)
				}
			}
		}
		step.ElapsedMs = time.Since(start).Milliseconds()
		steps = append(steps, step)
	}
	if tx != nil {
		tx.Rollback() // a no-op after a commit (sql.ErrTxDone); ends a Tx whose commit failed
	}
	return steps
}

func lastStep(steps []sessionStep) *sessionStep {
	if len(steps) == 0 {
		return nil
	}
	s := steps[len(steps)-1]
	return &s
}

// failedSteps: the named steps, each failed with the same error (no login, a hard timeout).
func failedSteps(names []string, code any, msg, errType string) []sessionStep {
	steps := make([]sessionStep, 0, len(names))
	for _, n := range names {
		m := msg
		steps = append(steps, sessionStep{Step: n, ErrorCode: code, Error: &m, ErrorType: errType})
	}
	return steps
}

// textOf: one column of the system row as a string (null for NULL).
func textOf(v any) any {
	switch x := jsonValue(v).(type) {
	case nil:
		return nil
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// jsonValue turns a scanned column into something JSON shows readably.
func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return strings.ToUpper(fmt.Sprintf("0x%x", x))
	case time.Time:
		return x.Format(time.RFC3339Nano)
	default:
		return x
	}
}

// countingDialer is the driver's TCP dialer, counting the connections it opens (--repeat).
type countingDialer struct {
	mu        sync.Mutex
	dials     int
	localPort int
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if err == nil {
		if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
			d.localPort = a.Port
		}
	}
	return c, err
}

func (d *countingDialer) snapshot() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials, d.localPort
}

// repeatRuns (--repeat N --pause-ms M) runs the query N times through one database/sql pool
// of at most one connection (SetMaxOpenConns(1), kept idle between runs), printing one JSON
// line per run with "iteration", "dials" (TCP connections opened so far) and "local_port",
// and sleeping M ms between runs. It shows what a pooled application sees when the server
// side of its idle connection goes away: database/sql and go-mssqldb decide whether to
// reuse, retry or reconnect, exactly as they would in an application. Each run is bounded
// like a normal probe run; a run that outlives its bound ends the probe after its line.
func repeatRuns(base result, dsn, query string, timeout time.Duration, n int, pause time.Duration) {
	connector, err := mssql.NewConnector(dsn)
	if err != nil {
		r := base
		one := 1
		r.Iteration = &one
		fillError(&r, err)
		emit(r)
		return
	}
	dialer := &countingDialer{}
	connector.Dialer = dialer
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	for i := 1; i <= n; i++ {
		if i > 1 && pause > 0 {
			time.Sleep(pause)
		}
		start := time.Now()
		done := make(chan result, 1)
		go func() {
			r := base
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var v any
			err := db.QueryRowContext(ctx, query).Scan(&v)
			switch {
			case err == nil:
				r.Connected = true
				r.Value = jsonValue(v)
			case errors.Is(err, sql.ErrNoRows):
				r.Connected = true
			default:
				fillError(&r, err)
				// A server error (e.g. 50000 for an unknown statement) means the login held.
				var me mssql.Error
				r.Connected = errors.As(err, &me)
			}
			done <- r
		}()
		var r result
		hard := false
		select {
		case r = <-done:
		case <-time.After(timeout + time.Second):
			r = base
			s := fmt.Sprintf("probe: hard timeout: the driver had not returned from run %d 1s after its %v deadline", i, timeout)
			r.Error = &s
			r.ErrorType = "probe.hardTimeout"
			hard = true
		}
		it := i
		dials, port := dialer.snapshot()
		r.Iteration, r.Dials, r.LocalPort = &it, &dials, &port
		r.ElapsedMs = time.Since(start).Milliseconds()
		emit(r)
		if hard {
			return
		}
	}
}
