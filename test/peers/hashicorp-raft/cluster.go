package main

// A 3-node hashicorp/raft cluster in one process: real TCP transports on 127.0.0.1, a file
// snapshot store per node, in-memory log and stable stores that survive a node's restart (they
// play the part of its disk), and an HTTP server per node. Nodes can be stopped, restarted
// (same raft address, HTTP address and data directory) and killed.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

type cluster struct {
	dir    string
	tmpDir string
	token  string
	sealer *sealer
	logger hclog.Logger
	nodes  []*node
}

// node is one Raft server; its incarnation changes on every restart.
type node struct {
	c        *cluster
	id       string
	raftAddr string // fixed after the first start
	httpAddr string // fixed after the first start
	dir      string
	logs     *raft.InmemStore
	stable   *raft.InmemStore
	snaps    *raft.FileSnapshotStore

	mu  sync.Mutex
	cur *incarnation // nil while the node is down

	restoreRequests int64 // HTTP restore requests received (any endpoint), atomic
	restores        int64 // successful raft.Restore calls, atomic
	lastRequest     atomic.Value
}

// incarnation is one run of a node: its raft, FSM, transport and HTTP server.
type incarnation struct {
	n     *node
	r     *raft.Raft
	fsm   *kvFSM
	trans *raft.NetworkTransport
	srv   *http.Server
}

// requestRecord describes the last product request a node received (for tests).
type requestRecord struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Namespace string `json:"namespace,omitempty"`
}

func newCluster(dir, token string, s *sealer, logger hclog.Logger, size int) (*cluster, error) {
	c := &cluster{dir: dir, tmpDir: filepath.Join(dir, "tmp"), token: token, sealer: s, logger: logger}
	if err := os.MkdirAll(c.tmpDir, 0700); err != nil {
		return nil, err
	}
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		d := filepath.Join(dir, id)
		if err := os.MkdirAll(d, 0700); err != nil {
			return nil, err
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(d, 3, logger.Named(id))
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, &node{c: c, id: id, dir: d, logs: raft.NewInmemStore(), stable: raft.NewInmemStore(), snaps: snaps})
	}
	return c, nil
}

func raftConfig(id string, logger hclog.Logger) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(id)
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 250 * time.Millisecond
	conf.CommitTimeout = 10 * time.Millisecond
	conf.Logger = logger.Named(id)
	return conf
}

// listen binds a node's raft transport and HTTP listener (port 0 the first time, then the same
// addresses again).
func (n *node) listen() (*raft.NetworkTransport, net.Listener, error) {
	bind := n.raftAddr
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	trans, err := raft.NewTCPTransportWithLogger(bind, nil, 3, 10*time.Second, n.c.logger.Named(n.id+"-net"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: raft transport: %v", n.id, err)
	}
	hbind := n.httpAddr
	if hbind == "" {
		hbind = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", hbind)
	if err != nil {
		trans.Close()
		return nil, nil, fmt.Errorf("%s: http listener: %v", n.id, err)
	}
	n.raftAddr = string(trans.LocalAddr())
	n.httpAddr = ln.Addr().String()
	return trans, ln, nil
}

// launch starts raft and the HTTP server on a bound transport and listener.
func (n *node) launch(trans *raft.NetworkTransport, ln net.Listener) error {
	fsm := newFSM()
	r, err := raft.NewRaft(raftConfig(n.id, n.c.logger), fsm, n.logs, n.stable, n.snaps, trans)
	if err != nil {
		trans.Close()
		ln.Close()
		return fmt.Errorf("%s: %v", n.id, err)
	}
	inc := &incarnation{n: n, r: r, fsm: fsm, trans: trans}
	inc.srv = &http.Server{Handler: inc.routes(), ReadHeaderTimeout: 10 * time.Second}
	go inc.srv.Serve(ln)
	n.mu.Lock()
	n.cur = inc
	n.mu.Unlock()
	return nil
}

// start brings up the whole cluster: every node bound, bootstrapped with all voters, started.
func (c *cluster) start() error {
	type bound struct {
		trans *raft.NetworkTransport
		ln    net.Listener
	}
	var bs []bound
	var servers []raft.Server
	for _, n := range c.nodes {
		trans, ln, err := n.listen()
		if err != nil {
			return err
		}
		bs = append(bs, bound{trans, ln})
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(n.id), Address: raft.ServerAddress(n.raftAddr)})
	}
	for i, n := range c.nodes {
		conf := raftConfig(n.id, c.logger)
		if err := raft.BootstrapCluster(conf, n.logs, n.stable, n.snaps, bs[i].trans, raft.Configuration{Servers: servers}); err != nil {
			return fmt.Errorf("%s: bootstrap: %v", n.id, err)
		}
		if err := n.launch(bs[i].trans, bs[i].ln); err != nil {
			return err
		}
	}
	return nil
}

// current is the running incarnation, or nil when the node is down.
func (n *node) current() *incarnation {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur
}

// stop shuts the node down: its HTTP server closes every connection at once (open responses are
// cut off), then raft shuts down and the transport closes. A stopped node can be restarted.
func (n *node) stop() bool {
	n.mu.Lock()
	inc := n.cur
	n.cur = nil
	n.mu.Unlock()
	if inc == nil {
		return false
	}
	inc.srv.Close()
	done := make(chan struct{})
	go func() {
		inc.r.Shutdown().Error()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.c.logger.Warn("raft shutdown timed out", "node", n.id)
	}
	inc.trans.Close()
	return true
}

// restart starts a stopped node again on the same addresses, with a fresh FSM that raft fills
// from the node's snapshots and logs (and from the leader).
func (n *node) restart() error {
	if n.current() != nil {
		return nil
	}
	var lastErr error
	for i := 0; i < 50; i++ { // the old sockets may take a moment to be released
		trans, ln, err := n.listen()
		if err == nil {
			return n.launch(trans, ln)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return lastErr
}

func (c *cluster) node(id string) *node {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// httpURLOf maps a raft address to that node's HTTP URL ("" when unknown).
func (c *cluster) httpURLOf(addr raft.ServerAddress) string {
	for _, n := range c.nodes {
		if raft.ServerAddress(n.raftAddr) == addr {
			return "http://" + n.httpAddr
		}
	}
	return ""
}

// leader is the up node that is raft leader and that every other up node follows, or nil.
func (c *cluster) leader() *node {
	var lead *node
	for _, n := range c.nodes {
		if inc := n.current(); inc != nil && inc.r.State() == raft.Leader {
			if lead != nil {
				return nil // two nodes think they lead: not settled yet
			}
			lead = n
		}
	}
	if lead == nil {
		return nil
	}
	for _, n := range c.nodes {
		if inc := n.current(); inc != nil && n != lead && inc.r.Leader() != raft.ServerAddress(lead.raftAddr) {
			return nil
		}
	}
	return lead
}

// waitLeader waits until leader() is settled and, when voters > 0, its configuration has that
// many voters.
func (c *cluster) waitLeader(timeout time.Duration, voters int) (*node, error) {
	deadline := time.Now().Add(timeout)
	for {
		if l := c.leader(); l != nil {
			if voters == 0 {
				return l, nil
			}
			if inc := l.current(); inc != nil {
				f := inc.r.GetConfiguration()
				if f.Error() == nil && countVoters(f.Configuration()) == voters {
					return l, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no leader within the timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countVoters(conf raft.Configuration) int {
	v := 0
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			v++
		}
	}
	return v
}

// nodeStatus is one node's entry in GET /status.
type nodeStatus struct {
	ID              string         `json:"id"`
	Up              bool           `json:"up"`
	State           string         `json:"state"`
	LastIndex       uint64         `json:"lastIndex"`
	AppliedIndex    uint64         `json:"appliedIndex"`
	Keys            int            `json:"keys"`
	RestoreRequests int64          `json:"restoreRequests"`
	Restores        int64          `json:"restores"`
	LastRequest     *requestRecord `json:"lastRequest"`
}

func (c *cluster) status() map[string]interface{} {
	var out []nodeStatus
	for _, n := range c.nodes {
		s := nodeStatus{ID: n.id, State: "Down", RestoreRequests: atomic.LoadInt64(&n.restoreRequests), Restores: atomic.LoadInt64(&n.restores)}
		if rec, ok := n.lastRequest.Load().(requestRecord); ok {
			s.LastRequest = &rec
		}
		if inc := n.current(); inc != nil {
			s.Up = true
			s.State = inc.r.State().String()
			s.LastIndex = inc.r.LastIndex()
			s.AppliedIndex = inc.r.AppliedIndex()
			s.Keys = inc.fsm.keys()
		}
		out = append(out, s)
	}
	leader := ""
	if l := c.leader(); l != nil {
		leader = l.id
	}
	return map[string]interface{}{"leader": leader, "nodes": out}
}

// shutdown stops every node (in parallel).
func (c *cluster) shutdown() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func(n *node) {
			defer wg.Done()
			n.stop()
		}(n)
	}
	wg.Wait()
}

// controlRoutes is the cluster's control API.
func (c *cluster) controlRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.status())
	})
	mux.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		if !requireMethod(w, r, http.MethodPost) {
			return
		}
		n := c.node(r.URL.Query().Get("node"))
		if n == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such node"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"stopped": n.id, "wasUp": n.stop()})
	})
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		if !requireMethod(w, r, http.MethodPost) {
			return
		}
		n := c.node(r.URL.Query().Get("node"))
		if n == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such node"})
			return
		}
		if err := n.restart(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"started": n.id})
	})
	mux.HandleFunc("/kill-leader", func(w http.ResponseWriter, r *http.Request) {
		if !requireMethod(w, r, http.MethodPost) {
			return
		}
		var lead *node
		for _, n := range c.nodes {
			if inc := n.current(); inc != nil && inc.r.State() == raft.Leader {
				lead = n
			}
		}
		if lead == nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "no leader"})
			return
		}
		lead.stop()
		writeJSON(w, http.StatusOK, map[string]string{"killed": lead.id})
	})
	mux.HandleFunc("/wait-leader", func(w http.ResponseWriter, r *http.Request) {
		if !requireMethod(w, r, http.MethodPost) {
			return
		}
		timeout := queryDuration(r, "timeout_ms", 10*time.Second)
		l, err := c.waitLeader(timeout, 0)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"leader": l.id, "httpUrl": "http://" + l.httpAddr})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func requireMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", fmt.Sprint(methods))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
