// Command hashicorp-raft is raftsnap's test peer: a 3-node hashicorp/raft cluster in one process
// on loopback TCP, with HTTP endpoints for key/value access, a raw snapshot bridge
// (raft.Snapshot/Restore), and snapshot endpoints shaped like Consul's, Vault's/OpenBao's and
// Nomad's. See test/peers/README.md.
//
// When the cluster is ready (a leader elected, all voters in its configuration) it prints one
// JSON line to stdout:
//
//	{"nodes":[{"id":"n1","raftAddr":"127.0.0.1:…","httpUrl":"http://127.0.0.1:…"},…],
//	 "controlUrl":"http://127.0.0.1:…","leader":"n1","pid":1234,"dataDir":"/tmp/raftsnap-peer-…"}
//
// and runs until its standard input closes or it receives SIGTERM/SIGINT.
//
// Build (Debian: golang-go, golang-github-hashicorp-raft-dev):
//
//	GO111MODULE=off GOPATH=$(mktemp -d):/usr/share/gocode go build -o peer ./test/peers/hashicorp-raft
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

type nodeInfo struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	HTTPURL  string `json:"httpUrl"`
}

type readyLine struct {
	Nodes      []nodeInfo `json:"nodes"`
	ControlURL string     `json:"controlUrl"`
	Leader     string     `json:"leader"`
	Pid        int        `json:"pid"`
	DataDir    string     `json:"dataDir"`
}

func main() {
	token := flag.String("token", "", "token the product endpoints require (\"\": no check)")
	dir := flag.String("dir", "", "data directory (default: a new temporary directory, removed at exit)")
	size := flag.Int("nodes", 3, "number of voters")
	sealKey := flag.String("seal-key", "", "64 hex characters: Vault-shaped archives carry SHA256SUMS.sealed (AES-256-GCM)")
	logLevel := flag.String("log-level", "error", "raft log level on stderr (trace, debug, info, warn, error, off)")
	flag.Parse()

	if err := run(*token, *dir, *size, *sealKey, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(token, dir string, size int, sealKey, logLevel string) error {
	logger := hclog.New(&hclog.LoggerOptions{Name: "peer", Level: hclog.LevelFromString(logLevel), Output: os.Stderr})
	var s *sealer
	if sealKey != "" {
		var err error
		if s, err = newSealer(sealKey); err != nil {
			return err
		}
	}
	removeDir := false
	if dir == "" {
		d, err := os.MkdirTemp("", "raftsnap-peer-")
		if err != nil {
			return err
		}
		dir, removeDir = d, true
	}
	c, err := newCluster(dir, token, s, logger, size)
	if err != nil {
		return err
	}
	exit := func(code int) {
		c.shutdown()
		if removeDir {
			os.RemoveAll(dir)
		}
		os.Exit(code)
	}

	// Leave when stdin closes (the parent went away) or on SIGTERM/SIGINT. Writes to a closed
	// stdout/stderr must not kill the process before it has cleaned up.
	signal.Ignore(syscall.SIGPIPE)
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		done <- struct{}{}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		done <- struct{}{}
	}()

	if err := c.start(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		exit(1)
	}
	lead, err := c.waitLeader(30*time.Second, size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		exit(1)
	}
	go (&http.Server{Handler: c.controlRoutes(), ReadHeaderTimeout: 10 * time.Second}).Serve(ln)

	line := readyLine{ControlURL: "http://" + ln.Addr().String(), Leader: lead.id, Pid: os.Getpid(), DataDir: dir}
	for _, n := range c.nodes {
		line.Nodes = append(line.Nodes, nodeInfo{ID: n.id, RaftAddr: n.raftAddr, HTTPURL: "http://" + n.httpAddr})
	}
	b, _ := json.Marshal(line)
	os.Stdout.Write(append(b, '\n'))

	<-done
	exit(0)
	return nil
}
