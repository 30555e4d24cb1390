package main

// The faulty upstream: what a broken SQL Server looks like from the proxy's upstream leg.
//
// `soak upstream` listens on one loopback port and holds a second port bound but not listening,
// so a connection to it is refused by the kernel (RST to the SYN: ECONNREFUSED). A connection to
// the listening port reads the client's PRELOGIN (relayed byte-identical by the proxy under the
// scenario `valid`) and acts on its INSTOPT option, the instance name the soak client chose:
//
//	stall    read, never answer; held until the proxy closes it (bounded by -hold)
//	reset    read the PRELOGIN, then reset (SO_LINGER 0)
//	close    read the PRELOGIN, then close cleanly (FIN) without answering
//	garbage  answer the PRELOGIN with random bytes, then wait for the proxy to close
//
// Anything else (no PRELOGIN within 5 s, an unknown name) is a stall. Every connection is
// bounded by -hold.

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

func runUpstream(args []string) {
	fs := newFlagSet("upstream")
	hold := fs.Duration("hold", 120*time.Second, "longest any upstream connection is held")
	lifetime := fs.Duration("lifetime", 30*time.Minute, "exit after this long whatever happens")
	fs.Parse(args)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("upstream: %v", err)
	}
	refusedPort, err := boundNotListening()
	if err != nil {
		fatalf("upstream: %v", err)
	}
	fmt.Printf("listening on %s\nrefusing on 127.0.0.1:%d\n", ln.Addr(), refusedPort)
	os.Stdout.Sync()
	go func() {
		time.Sleep(*lifetime)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serveFaulty(c.(*net.TCPConn), *hold)
	}
}

// boundNotListening returns a loopback port that is bound (so nobody else gets it) and not
// listening (so the kernel answers a SYN with RST). The socket is deliberately never closed.
func boundNotListening() (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	return sa.(*syscall.SockaddrInet4).Port, nil
}

func serveFaulty(c *net.TCPConn, hold time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg, err := readTdsMessage(c)
	mode := "stall"
	if err == nil {
		if name, ok := preloginInstance(msg); ok {
			mode = name
		}
	}
	c.SetDeadline(time.Now().Add(hold))
	switch mode {
	case "reset":
		resetConn(c)
		return
	case "close":
		return
	case "garbage":
		junk := make([]byte, 512)
		rand.Read(junk)
		c.Write(junk)
	}
	io.Copy(io.Discard, c) // stall: until the proxy closes or the hold ends
}

// preloginInstance reads the INSTOPT option (token 2) of a PRELOGIN payload.
func preloginInstance(payload []byte) (string, bool) {
	for i := 0; i+5 <= len(payload) && payload[i] != 0xff; i += 5 {
		if payload[i] != 2 {
			continue
		}
		off := int(payload[i+1])<<8 | int(payload[i+2])
		n := int(payload[i+3])<<8 | int(payload[i+4])
		if off+n > len(payload) {
			return "", false
		}
		return string(bytes.TrimRight(payload[off:off+n], "\x00")), true
	}
	return "", false
}
