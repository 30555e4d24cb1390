// tlslab MySQL probe for go-sql-driver/mysql (Go crypto/tls). Contract: the "MySQL probes"
// section of ../README.md. One connection attempt, one JSON line on stdout, exit 0; exit 2 on a
// usage error.
//
// A DSN user:password@tcp(host:port)/database?tls=...&timeout=... opened with database/sql
// (one connection, Ping, then the query). --ssl-mode maps to the driver's `tls` parameter:
//
//	DISABLED         tls=false
//	PREFERRED        tls=preferred (TLS when offered, nothing verified, plaintext otherwise)
//	REQUIRED         tls=skip-verify
//	VERIFY_CA        a config registered with mysql.RegisterTLSConfig: InsecureSkipVerify with
//	                 VerifyPeerCertificate checking the chain against the roots (the --ca file,
//	                 else the system pool) and no name: Go has no "chain only" switch, this is
//	                 how its users write one
//	VERIFY_IDENTITY  tls=true without --ca (system roots, name checked); with --ca a registered
//	                 config with RootCAs from the file (the driver sets ServerName to the host)
//	(not passed)     no tls parameter: the driver's default (false: no TLS); with --ca the
//	                 registered RootCAs config (as for VERIFY_IDENTITY), the way a CA is given
//
// Whether the session is TLS: the driver does not tell, so the probe dials TCP itself
// (mysql.RegisterDialContext) and watches the first packet the driver writes: an SSLRequest
// (32-byte payload with CLIENT_SSL) means the driver went on in TLS or failed. The TLS version
// and cipher come from SHOW SESSION STATUS (the server's view).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

var t0 = time.Now()

type result map[string]any

var (
	mu      sync.Mutex
	emitted bool
	out     = result{}
)

func set(k string, v any) {
	mu.Lock()
	defer mu.Unlock()
	out[k] = v
}

func emit() {
	mu.Lock()
	defer mu.Unlock()
	if emitted {
		return
	}
	emitted = true
	out["elapsed_ms"] = time.Since(t0).Milliseconds()
	b, err := json.Marshal(out)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"driver":"gomysql","connected":false,"error_code":"PROBE_FAILURE","error":%q,"value":null,"version":null}`, err.Error()))
	}
	os.Stdout.Write(append(b, '\n'))
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "probe: %s\nusage: probe --host H --port P [--ca FILE] [--ssl-mode DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY] [--user U] [--password P] [--database D] [--query SQL] [--timeout SECONDS]\n", msg)
	os.Exit(2)
}

// watchConn records whether the first packet the driver writes is an SSLRequest.
type watchConn struct {
	net.Conn
	once sync.Once
}

const clientSSL = 0x00000800

func (c *watchConn) Write(b []byte) (int, error) {
	c.once.Do(func() {
		if len(b) >= 8 {
			n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
			caps := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
			set("ssl_request_sent", n == 32 && caps&clientSSL != 0)
		}
	})
	return c.Conn.Write(b)
}

func driverVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/go-sql-driver/mysql" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func errorFields(err error) {
	set("error", err.Error())
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		set("error_code", int(me.Number))
		if me.SQLState != [5]byte{} {
			set("sql_state", string(me.SQLState[:]))
		}
		return
	}
	set("error_code", nil)
	set("error_type", fmt.Sprintf("%T", err))
}

func main() {
	host := flag.String("host", "", "")
	port := flag.Int("port", 0, "")
	ca := flag.String("ca", "", "")
	mode := flag.String("ssl-mode", "", "")
	user := flag.String("user", "lab", "")
	password := flag.String("password", "lab-password", "")
	database := flag.String("database", "lab", "")
	query := flag.String("query", "SELECT 1", "")
	timeoutS := flag.Float64("timeout", 10, "")
	flag.Usage = func() { usage("bad arguments") }
	flag.Parse()
	if flag.NArg() > 0 {
		usage("unexpected argument " + flag.Arg(0))
	}
	if *host == "" {
		usage("--host is required")
	}
	if *port < 1 || *port > 65535 {
		usage("--port is required (1..65535)")
	}
	if !(*timeoutS > 0) {
		usage("bad --timeout")
	}
	switch *mode {
	case "", "DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY":
	default:
		usage("bad --ssl-mode " + *mode)
	}
	var pemBytes []byte
	if *ca != "" {
		b, err := os.ReadFile(*ca)
		if err != nil {
			usage("--ca: " + err.Error())
		}
		pemBytes = b
	}
	var modeField any
	if *mode != "" {
		modeField = *mode
	}
	out = result{"driver": "gomysql", "version": driverVersion(), "connected": false,
		"error_code": nil, "error": nil, "value": nil, "ssl": nil, "tls_version": nil, "cipher": nil,
		"ssl_mode": modeField, "ssl_settings": nil, "go_version": runtime.Version()}
	// A driver that panics on what the server sent (go-sql-driver indexes packets without
	// checking them) is a verdict too: one JSON line, as the contract says.
	defer func() {
		if r := recover(); r != nil {
			set("error_code", "DRIVER_PANIC")
			set("error", fmt.Sprint(r))
			emit()
		}
	}()
	timeout := time.Duration(*timeoutS * float64(time.Second))
	bound := timeout + time.Second

	// The tls parameter for the mode.
	var roots *x509.CertPool
	if pemBytes != nil {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			set("error_code", "PROBE_FAILURE")
			set("error", "no certificate in "+*ca)
			emit()
			return
		}
	}
	tlsParam := ""
	settings := map[string]any{}
	switch *mode {
	case "DISABLED":
		tlsParam = "false"
	case "PREFERRED":
		tlsParam = "preferred"
	case "REQUIRED":
		tlsParam = "skip-verify"
	case "VERIFY_CA":
		pool := roots
		if pool == nil {
			sys, err := x509.SystemCertPool()
			if err != nil {
				sys = x509.NewCertPool()
			}
			pool = sys
		}
		cfg := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("tls: the server sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}}
		if err := mysql.RegisterTLSConfig("tlslab-verify-ca", cfg); err != nil {
			panic(err)
		}
		tlsParam = "tlslab-verify-ca"
		settings["tls_config"] = "InsecureSkipVerify + VerifyPeerCertificate (chain only)"
	case "VERIFY_IDENTITY", "":
		if roots != nil {
			if err := mysql.RegisterTLSConfig("tlslab-roots", &tls.Config{RootCAs: roots}); err != nil {
				panic(err)
			}
			tlsParam = "tlslab-roots"
			settings["tls_config"] = "RootCAs from " + *ca
		} else if *mode == "VERIFY_IDENTITY" {
			tlsParam = "true"
		}
	}
	if tlsParam != "" {
		settings["tls"] = tlsParam
	} else {
		settings["tls"] = nil
	}
	set("ssl_settings", settings)

	mysql.RegisterDialContext("tcp", func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return &watchConn{Conn: c}, nil
	})
	cfg := mysql.NewConfig()
	cfg.User = *user
	cfg.Passwd = *password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(*host, fmt.Sprint(*port))
	cfg.DBName = *database
	cfg.Timeout = timeout
	cfg.ReadTimeout = timeout + 2*time.Second
	cfg.WriteTimeout = timeout + 2*time.Second
	dsn := cfg.FormatDSN()
	if tlsParam != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "tls=" + tlsParam
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		errorFields(err)
		emit()
		return
	}
	db.SetMaxOpenConns(1)
	mysql.SetLogger(&mysql.NopLogger{})

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			set("error_code", "PROBE_TIMEOUT")
			set("error", fmt.Sprintf("probe: no connection within %v: %v", bound, err))
		} else {
			errorFields(err)
		}
		emit()
		return
	}
	set("connected", true)
	mu.Lock()
	sent, ok := out["ssl_request_sent"].(bool)
	mu.Unlock()
	if ok {
		set("ssl", sent)
		set("ssl_source", "wire")
	}
	queryOne := func(q string, col int) (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		if !rows.Next() {
			return nil, rows.Err()
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if col >= len(vals) {
			return nil, nil
		}
		return jsonValue(vals[col]), nil
	}
	if *query != "" {
		v, err := queryOne(*query, 0)
		if err != nil {
			errorFields(err)
		} else {
			set("value", v)
		}
	}
	var filled []string
	if v, err := queryOne("SHOW SESSION STATUS LIKE 'Ssl_version'", 1); err == nil && v != nil && v != "" {
		set("tls_version", v)
		filled = append(filled, "tls_version")
	}
	if v, err := queryOne("SHOW SESSION STATUS LIKE 'Ssl_cipher'", 1); err == nil && v != nil && v != "" {
		set("cipher", v)
		filled = append(filled, "cipher")
	}
	if len(filled) > 0 {
		set("from_server_status", filled)
	}
	if v, err := queryOne("SELECT VERSION()", 0); err == nil {
		set("server_version", v)
	}
	emit()
	conn.Close()
	db.Close()
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		s := string(x)
		var n int64
		if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s && n < 1<<53 && n > -(1<<53) {
			return n
		}
		return s
	case int64, float64, bool, string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}
