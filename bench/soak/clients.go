package main

// The clients of the soak: real drivers (go-mssqldb, pgx) for logins and held sessions, and raw
// clients that stop, reset or misbehave at a chosen phase. Every TCP connection any of them
// opens goes through tracker.dial, which notes its local port under the proxy listener it went
// to, so the proxy's records can be matched one to one with what the driver opened.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	mssql "github.com/microsoft/go-mssqldb"
)

// tracker: every connection the soak opened, by proxy listener name.
type tracker struct {
	mu    sync.Mutex
	conns map[string][]*connEntry // listener -> successful connects
	addrs map[string]string
}

// connEntry: one connection the soak opened: its local port, the kind of client that opened
// it, and whether the proxy ever sent it a byte (then the proxy had accepted it for sure).
type connEntry struct {
	port     int
	kind     string
	dialed   time.Time
	answered atomic.Bool
}

type kindKey struct{}

// withKind names the kind of client for every connection dialled under ctx.
func withKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

// trackedConn notes the first byte the proxy sends.
type trackedConn struct {
	*net.TCPConn
	entry *connEntry
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.entry.answered.Store(true)
	}
	return n, err
}

func (t *tracker) dial(ctx context.Context, listener string) (*trackedConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.addrs[listener])
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	kind, _ := ctx.Value(kindKey{}).(string)
	e := &connEntry{port: tc.LocalAddr().(*net.TCPAddr).Port, kind: kind, dialed: time.Now()}
	t.mu.Lock()
	t.conns[listener] = append(t.conns[listener], e)
	t.mu.Unlock()
	return &trackedConn{TCPConn: tc, entry: e}, nil
}

func (t *tracker) opened(listener string) []*connEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*connEntry(nil), t.conns[listener]...)
}

// resetConn closes with SO_LINGER 0: the kernel sends RST instead of FIN.
func resetConn(c interface {
	SetLinger(sec int) error
	Close() error
}) {
	c.SetLinger(0)
	c.Close()
}

// --- TDS bytes ---------------------------------------------------------------------------

const tdsPrelogin = 0x12

func tdsPacket(typ, status byte, payload []byte) []byte {
	p := make([]byte, 8, 8+len(payload))
	p[0], p[1] = typ, status
	binary.BigEndian.PutUint16(p[2:], uint16(8+len(payload)))
	p[6] = 1
	return append(p, payload...)
}

// preloginPayload: VERSION, ENCRYPTION (ON), INSTOPT (the instance name), THREADID, MARS.
func preloginPayload(instance string) []byte {
	type opt struct {
		token byte
		data  []byte
	}
	opts := []opt{
		{0, []byte{17, 0, 0, 0, 0, 0}},
		{1, []byte{1}},
		{2, append([]byte(instance), 0)},
		{3, []byte{0, 0, 0, 0}},
		{4, []byte{0}},
	}
	head := make([]byte, 0, 5*len(opts)+1)
	var data []byte
	off := 5*len(opts) + 1
	for _, o := range opts {
		head = append(head, o.token, byte(off>>8), byte(off), byte(len(o.data)>>8), byte(len(o.data)))
		data = append(data, o.data...)
		off += len(o.data)
	}
	return append(append(head, 0xff), data...)
}

// readTdsMessage reads packets up to the one with EOM (status bit 0); bounded to 1 MiB.
func readTdsMessage(r io.Reader) ([]byte, error) {
	var msg []byte
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(h[2:]))
		if n < 8 {
			return nil, fmt.Errorf("TDS packet length %d", n)
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		msg = append(msg, body...)
		if h[1]&1 != 0 {
			return msg, nil
		}
		if len(msg) > 1<<20 {
			return nil, errors.New("TDS message over 1 MiB")
		}
	}
}

// tdsTLSConn carries a TLS handshake inside TDS PRELOGIN packets (TDS 7.x), as a driver does.
type tdsTLSConn struct {
	*trackedConn
	pending []byte
}

func (c *tdsTLSConn) Write(b []byte) (int, error) {
	if _, err := c.trackedConn.Write(tdsPacket(tdsPrelogin, 1, b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *tdsTLSConn) Read(b []byte) (int, error) {
	if len(c.pending) == 0 {
		msg, err := readTdsMessage(c.trackedConn)
		if err != nil {
			return 0, err
		}
		c.pending = msg
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// faultConn resets the connection at a given point of a TLS handshake: on the client's
// second write (its second flight: the server's first flight was read whole) or on the
// client's first read (the ClientHello was sent, nothing read).
type faultConn struct {
	net.Conn
	raw          *trackedConn
	writes       int
	resetOnWrite int // reset instead of this write (1-based); 0: never
	resetOnRead  bool
	fired        bool
}

var errInjected = errors.New("reset injected")

func (c *faultConn) Write(b []byte) (int, error) {
	c.writes++
	if c.writes == c.resetOnWrite {
		c.fired = true
		resetConn(c.raw)
		return 0, errInjected
	}
	return c.Conn.Write(b)
}

func (c *faultConn) Read(b []byte) (int, error) {
	if c.resetOnRead {
		c.fired = true
		resetConn(c.raw)
		return 0, errInjected
	}
	return c.Conn.Read(b)
}

// --- the clients -------------------------------------------------------------------------

type clients struct {
	t        *tracker
	caFile   string
	roots    *x509.CertPool
	hostname string // the name the certificate is checked against
}

func newClients(t *tracker, caFile, hostname string) (*clients, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", caFile)
	}
	return &clients{t: t, caFile: caFile, roots: roots, hostname: hostname}, nil
}

// tdsConnector: go-mssqldb with certificate validation against the lab CA; encrypt is "true"
// (TDS 7.x, TLS inside PRELOGIN) or "strict" (TDS 8.0). Every TCP connection goes through the
// tracker; *last is the last one opened, for the clients that reset it.
func (k *clients) tdsConnector(listener, encrypt string, last **trackedConn) (*mssql.Connector, error) {
	q := url.Values{}
	q.Set("encrypt", encrypt)
	q.Set("certificate", k.caFile)
	q.Set("hostnameincertificate", k.hostname)
	q.Set("dial timeout", "15")
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword("lab", "lab-password"),
		Host: k.t.addrs[listener], RawQuery: q.Encode()}
	c, err := mssql.NewConnector(u.String())
	if err != nil {
		return nil, err
	}
	c.Dialer = dialerFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
		tc, err := k.t.dial(ctx, listener)
		if err == nil && last != nil {
			*last = tc
		}
		return tc, err
	})
	return c, nil
}

type dialerFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialerFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// pgConfig: pgx with sslmode=verify-full against the lab CA, SCRAM without channel binding
// (bound to the proxy's certificate, the stand-in would refuse it: the defence working).
func (k *clients) pgConfig(listener string, last **trackedConn) (*pgx.ConnConfig, error) {
	q := url.Values{}
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", k.caFile)
	q.Set("channel_binding", "disable")
	q.Set("connect_timeout", "15")
	u := &url.URL{Scheme: "postgres", User: url.UserPassword("lab", "lab-password"),
		Host: k.t.addrs[listener], Path: "/lab", RawQuery: q.Encode()}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.TLSConfig.ServerName = k.hostname
	cfg.Fallbacks = nil
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		tc, err := k.t.dial(ctx, listener)
		if err == nil && last != nil {
			*last = tc
		}
		return tc, err
	}
	return cfg, nil
}

// heldSession: one logged-in session kept open through the soak.
type heldSession struct {
	listener string
	db       *sql.DB
	conn     *sql.Conn
	pg       *pgx.Conn
}

func (k *clients) hold(ctx context.Context, listener string) (*heldSession, error) {
	h := &heldSession{listener: listener}
	if listener == "pg" {
		cfg, err := k.pgConfig(listener, nil)
		if err != nil {
			return nil, err
		}
		if h.pg, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return nil, err
		}
		return h, nil
	}
	c, err := k.tdsConnector(listener, encryptFor(listener), nil)
	if err != nil {
		return nil, err
	}
	h.db = sql.OpenDB(c)
	h.db.SetMaxOpenConns(1)
	if h.conn, err = h.db.Conn(ctx); err == nil {
		err = h.conn.PingContext(ctx)
	}
	if err != nil {
		h.db.Close()
		return nil, err
	}
	return h, nil
}

func (h *heldSession) query(ctx context.Context) error {
	var v int
	var err error
	if h.pg != nil {
		err = h.pg.QueryRow(ctx, "SELECT 1").Scan(&v)
	} else {
		err = h.conn.QueryRowContext(ctx, "SELECT 1").Scan(&v)
	}
	if err == nil && v != 1 {
		err = fmt.Errorf("SELECT 1 returned %d", v)
	}
	return err
}

func (h *heldSession) close(ctx context.Context) {
	if h.pg != nil {
		h.pg.Close(ctx)
		return
	}
	h.conn.Close()
	h.db.Close()
}

func encryptFor(listener string) string {
	if listener == "tds8" {
		return "strict"
	}
	return "true"
}

// login: a full login, SELECT 1, a clean disconnect.
func (k *clients) login(ctx context.Context, listener string) error {
	h, err := k.hold(ctx, listener)
	if err != nil {
		return err
	}
	defer h.close(ctx)
	return h.query(ctx)
}

// A batch whose answer is a few hundred KiB, read one result at a time by the driver.
var (
	tdsBigBatch = strings.Repeat("SELECT @@VERSION;", 1000)
	pgBigQuery  = strings.Repeat("SELECT version();", 1000)
)

// resetAfterLogin logs in with the driver, then resets the TCP connection under it; with
// midResult it first starts a query with a big answer and reads its first row.
func (k *clients) resetAfterLogin(ctx context.Context, listener string, midResult bool) error {
	var raw *trackedConn
	if listener == "pg" {
		cfg, err := k.pgConfig(listener, &raw)
		if err != nil {
			return err
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if midResult {
			mrr := conn.PgConn().Exec(ctx, pgBigQuery)
			if !mrr.NextResult() || !mrr.ResultReader().NextRow() {
				return fmt.Errorf("no first row: %v", mrr.Close())
			}
			resetConn(raw)
			mrr.Close()
			return nil
		}
		resetConn(raw)
		return nil
	}
	c, err := k.tdsConnector(listener, encryptFor(listener), &raw)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if midResult {
		rows, err := conn.QueryContext(ctx, tdsBigBatch)
		if err != nil {
			return err
		}
		if !rows.Next() {
			return fmt.Errorf("no first row: %v", rows.Err())
		}
		resetConn(raw)
		rows.Close()
		return nil
	}
	resetConn(raw)
	return nil
}

// resetAtConnect: connect, then reset before sending anything (before PRELOGIN / SSLRequest /
// ClientHello).
func (k *clients) resetAtConnect(ctx context.Context, listener string) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	resetConn(c)
	return nil
}

// resetAfterNegotiation: TDS 7.x, PRELOGIN answered; PostgreSQL, SSLRequest answered 'S'.
// Then a reset instead of the TLS handshake.
func (k *clients) resetAfterNegotiation(ctx context.Context, listener string) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	defer resetConn(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return negotiate(c, listener, "")
}

func negotiate(c *trackedConn, listener, instance string) error {
	if listener == "pg" {
		if _, err := c.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
			return err
		}
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return err
		}
		if b[0] != 'S' {
			return fmt.Errorf("SSLRequest answered %q", b[0])
		}
		return nil
	}
	if _, err := c.Write(tdsPacket(tdsPrelogin, 1, preloginPayload(instance))); err != nil {
		return err
	}
	_, err := readTdsMessage(c)
	return err
}

// resetMidHandshake runs a real TLS client (validating the lab CA) and resets the connection
// at a point of the handshake: afterHello, right after the ClientHello went out; otherwise
// when the client is about to send its second flight (the server's first flight read whole).
func (k *clients) resetMidHandshake(ctx context.Context, listener string, afterHello bool) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	defer resetConn(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &tls.Config{RootCAs: k.roots, ServerName: k.hostname}
	var under net.Conn = c
	switch listener {
	case "tds7":
		if err := negotiate(c, listener, ""); err != nil {
			return err
		}
		cfg.MaxVersion = tls.VersionTLS12
		under = &tdsTLSConn{trackedConn: c}
	case "tds8":
		cfg.NextProtos = []string{"tds/8.0"}
	case "pg":
		if err := negotiate(c, listener, ""); err != nil {
			return err
		}
	}
	fc := &faultConn{Conn: under, raw: c, resetOnWrite: 2, resetOnRead: afterHello}
	err = tls.Client(fc, cfg).HandshakeContext(ctx)
	if fc.fired {
		return nil
	}
	return fmt.Errorf("the handshake ended before the reset point: %v", err)
}

// garbage sends random bytes, then waits (bounded) for the proxy to close.
func (k *clients) garbage(ctx context.Context, listener string) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	defer c.Close()
	junk := make([]byte, 1+mrand.IntN(16384))
	rand.Read(junk)
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write(junk)
	return waitClosed(c)
}

// hugeLength announces far more than it sends, or more than any limit allows: a TDS header of
// 65,535 bytes followed by a stream of packets without EOM (a message that never ends), a TLS
// record of 65,535 bytes, a PostgreSQL startup packet of 2 GiB.
func (k *clients) hugeLength(ctx context.Context, listener string) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	body := make([]byte, 0xffff-8)
	rand.Read(body)
	switch listener {
	case "tds7":
		hdr := []byte{tdsPrelogin, 0, 0xff, 0xff, 0, 0, 1, 0}
		for i := 0; i < 64; i++ { // at most 4 MiB in packets of 65,535 bytes without EOM
			if _, err := c.Write(append(hdr, body...)); err != nil {
				break
			}
		}
	case "tds8":
		c.Write(append([]byte{0x16, 0x03, 0x01, 0xff, 0xff}, body[:1000]...))
	case "pg":
		c.Write(append([]byte{0x7f, 0xff, 0xff, 0xf0, 0, 3, 0, 0}, body[:1000]...))
	}
	return waitClosed(c)
}

// waitClosed reads until the peer closes (nil) or the deadline passes (an error).
func waitClosed(c *trackedConn) error {
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("the proxy did not close within the wait")
	}
	return nil
}

// towardsFault: a PRELOGIN to a listener whose upstream is faulty; mode is the instance name
// the faulty upstream acts on (stall, reset, close, garbage; refused by the other listener).
// The client waits (bounded) for the proxy to end the session; a stall client that is not
// patient gives up after 2 s.
func (k *clients) towardsFault(ctx context.Context, listener, mode string, patient bool) error {
	c, err := k.t.dial(ctx, listener)
	if err != nil {
		return err
	}
	defer c.Close()
	wait := 15 * time.Second
	if !patient {
		wait = 2 * time.Second
	}
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(tdsPacket(tdsPrelogin, 1, preloginPayload(mode))); err != nil {
		return err
	}
	err = waitClosed(c)
	if !patient {
		return nil
	}
	return err
}
