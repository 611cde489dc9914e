package main

// Each node's HTTP API: key/value access, the raw snapshot bridge (raft.Snapshot/Restore over
// HTTP), and snapshot endpoints shaped like Consul's, Vault's/OpenBao's and Nomad's, with test
// hooks (drop_after, throttle, delay_ms).

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

const applyTimeout = 10 * time.Second
const productRestoreTimeout = 60 * time.Second

func (inc *incarnation) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/kv", inc.kvAll)
	mux.HandleFunc("/kv/", inc.kvKey)
	mux.HandleFunc("/kv-batch", inc.kvBatch)
	mux.HandleFunc("/raft/snapshot", inc.bridgeSnapshot)
	mux.HandleFunc("/raft/restore", inc.bridgeRestore)
	mux.HandleFunc("/v1/snapshot", inc.consul)
	mux.HandleFunc("/v1/sys/storage/raft/snapshot", inc.vault(false))
	mux.HandleFunc("/v1/sys/storage/raft/snapshot-force", inc.vault(true))
	mux.HandleFunc("/v1/operator/snapshot", inc.nomad)
	return mux
}

func (inc *incarnation) isLeader() bool { return inc.r.State() == raft.Leader }

// leaderURL is the HTTP URL of the node this one believes leads ("" when unknown).
func (inc *incarnation) leaderURL() string {
	addr := inc.r.Leader()
	if addr == "" {
		return ""
	}
	return inc.n.c.httpURLOf(addr)
}

// redirectToLeader answers 307 to the same path and query on the leader's HTTP URL, or 503
// through fail when no leader is known.
func (inc *incarnation) redirectToLeader(w http.ResponseWriter, r *http.Request, fail func(int, string)) {
	u := inc.leaderURL()
	if u == "" {
		fail(http.StatusServiceUnavailable, "no leader known to "+inc.n.id)
		return
	}
	w.Header().Set("Location", u+r.URL.RequestURI())
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// proxyToLeader forwards the request to the leader (as Consul and Nomad forward to theirs).
func (inc *incarnation) proxyToLeader(w http.ResponseWriter, r *http.Request, fail func(int, string)) {
	u := inc.leaderURL()
	if u == "" {
		fail(http.StatusServiceUnavailable, "no leader known to "+inc.n.id)
		return
	}
	target, _ := url.Parse(u)
	p := httputil.NewSingleHostReverseProxy(target)
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		fail(http.StatusBadGateway, "forwarding to the leader failed: "+err.Error())
	}
	p.ServeHTTP(w, r)
}

func textError(w http.ResponseWriter) func(int, string) {
	return func(status int, msg string) { http.Error(w, msg, status) }
}

func vaultError(w http.ResponseWriter) func(int, string) {
	return func(status int, msg string) { writeJSON(w, status, map[string][]string{"errors": {msg}}) }
}

// ---- key/value ------------------------------------------------------------------------------

func (inc *incarnation) kvAll(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodGet) {
		return
	}
	b, err := inc.fsm.dump()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (inc *incarnation) kvKey(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/kv/")
	switch r.Method {
	case http.MethodGet:
		v, ok := inc.fsm.get(key)
		if !ok {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		w.Write(v)
	case http.MethodPut:
		if !inc.isLeader() {
			inc.redirectToLeader(w, r, textError(w))
			return
		}
		v, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		inc.apply(w, command{Set: map[string][]byte{key: v}})
	default:
		requireMethod(w, r, http.MethodGet, http.MethodPut)
	}
}

func (inc *incarnation) kvBatch(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodPost) {
		return
	}
	if !inc.isLeader() {
		inc.redirectToLeader(w, r, textError(w))
		return
	}
	var kv map[string]string
	if err := json.NewDecoder(r.Body).Decode(&kv); err != nil {
		http.Error(w, "body must be a JSON object of strings: "+err.Error(), http.StatusBadRequest)
		return
	}
	c := command{Set: make(map[string][]byte, len(kv))}
	for k, v := range kv {
		c.Set[k] = []byte(v)
	}
	inc.apply(w, c)
}

func (inc *incarnation) apply(w http.ResponseWriter, c command) {
	b, err := json.Marshal(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f := inc.r.Apply(b, applyTimeout)
	if err := f.Error(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err, ok := f.Response().(error); ok && err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"index": f.Index()})
}

// ---- the raw bridge -------------------------------------------------------------------------

// bridgeSnapshot: raft.Snapshot() + Open(); meta JSON in X-Raft-Snapshot-Meta, body = state.
func (inc *incarnation) bridgeSnapshot(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodGet) {
		return
	}
	inc.recordRequest(r)
	f := inc.r.Snapshot()
	if err := f.Error(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	meta, rc, err := f.Open()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	mj, err := json.Marshal(meta)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Raft-Snapshot-Meta", string(mj))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(meta.Size, 10))
	w.WriteHeader(http.StatusOK)
	sendWithHooks(w, r, rc)
}

// bridgeRestore: raft.Restore(meta from X-Raft-Snapshot-Meta, body, timeout_ms).
func (inc *incarnation) bridgeRestore(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodPost) {
		return
	}
	inc.recordRequest(r)
	atomic.AddInt64(&inc.n.restoreRequests, 1)
	var meta raft.SnapshotMeta
	if err := json.Unmarshal([]byte(r.Header.Get("X-Raft-Snapshot-Meta")), &meta); err != nil {
		http.Error(w, "bad X-Raft-Snapshot-Meta: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !sleepFor(r, queryDuration(r, "delay_ms", 0)) {
		return
	}
	if err := inc.r.Restore(&meta, r.Body, queryDuration(r, "timeout_ms", 0)); err != nil {
		http.Error(w, err.Error(), restoreStatus(err))
		return
	}
	atomic.AddInt64(&inc.n.restores, 1)
	w.WriteHeader(http.StatusOK)
}

func restoreStatus(err error) int {
	if errors.Is(err, raft.ErrNotLeader) {
		return http.StatusConflict
	}
	if errors.Is(err, raft.ErrEnqueueTimeout) {
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// ---- archives -------------------------------------------------------------------------------

// takeArchive snapshots raft into a temporary archive file; returns its path, the meta and the
// SHA-256 of the archive bytes.
func (inc *incarnation) takeArchive(s *sealer) (string, *raft.SnapshotMeta, []byte, error) {
	f := inc.r.Snapshot()
	if err := f.Error(); err != nil {
		return "", nil, nil, err
	}
	meta, rc, err := f.Open()
	if err != nil {
		return "", nil, nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(inc.n.c.tmpDir, "archive-*")
	if err != nil {
		return "", nil, nil, err
	}
	h := sha256.New()
	err = writeArchive(io.MultiWriter(tmp, h), meta, rc, s)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", nil, nil, err
	}
	return tmp.Name(), meta, h.Sum(nil), nil
}

// serveArchive answers a product's save: the archive of a fresh snapshot, with the product's
// headers, through the test hooks.
func (inc *incarnation) serveArchive(w http.ResponseWriter, r *http.Request, s *sealer, fail func(int, string), headers func(http.Header, *raft.SnapshotMeta, []byte)) {
	path, meta, digest, err := inc.takeArchive(s)
	if err != nil {
		fail(http.StatusInternalServerError, "failed to take snapshot: "+err.Error())
		return
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	headers(w.Header(), meta, digest)
	w.WriteHeader(http.StatusOK)
	sendWithHooks(w, r, f)
}

// restoreArchive answers a product's restore: the body is read and checked completely into a
// temporary state file (nothing reaches raft unless the archive is valid), then, after the
// delay_ms hook, raft.Restore. Returns false when it has already answered with an error.
func (inc *incarnation) restoreArchive(w http.ResponseWriter, r *http.Request, s *sealer, fail func(int, string)) bool {
	atomic.AddInt64(&inc.n.restoreRequests, 1)
	tmp, err := os.CreateTemp(inc.n.c.tmpDir, "state-*")
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return false
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	meta, err := readArchive(r.Body, tmp, s)
	if err != nil {
		fail(http.StatusBadRequest, "failed to read snapshot: "+err.Error())
		return false
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return false
	}
	if !sleepFor(r, queryDuration(r, "delay_ms", 0)) {
		return false
	}
	if err := inc.r.Restore(meta, tmp, productRestoreTimeout); err != nil {
		fail(restoreStatus(err), "failed to restore snapshot: "+err.Error())
		return false
	}
	atomic.AddInt64(&inc.n.restores, 1)
	return true
}

// ---- products -------------------------------------------------------------------------------

// token returns the request's token from `header` or an Authorization: Bearer header.
func token(r *http.Request, header string) string {
	if t := r.Header.Get(header); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return strings.TrimPrefix(a, "Bearer ")
	}
	return ""
}

func (c *cluster) tokenOK(t string) bool {
	return c.token == "" || subtle.ConstantTimeCompare([]byte(t), []byte(c.token)) == 1
}

func (inc *incarnation) recordRequest(r *http.Request) {
	inc.n.lastRequest.Store(requestRecord{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Namespace: r.Header.Get("X-Vault-Namespace")})
}

// consul: GET/PUT /v1/snapshot, X-Consul-Token; followers forward to the leader unless ?stale.
func (inc *incarnation) consul(w http.ResponseWriter, r *http.Request) {
	fail := textError(w)
	if !requireMethod(w, r, http.MethodGet, http.MethodPut) {
		return
	}
	if t := token(r, "X-Consul-Token"); !inc.n.c.tokenOK(t) {
		if t == "" {
			fail(http.StatusForbidden, "Permission denied: anonymous token lacks permission 'operator:write'")
		} else {
			fail(http.StatusForbidden, "ACL not found")
		}
		return
	}
	_, stale := r.URL.Query()["stale"]
	if !inc.isLeader() && !(r.Method == http.MethodGet && stale) {
		inc.proxyToLeader(w, r, fail)
		return
	}
	inc.recordRequest(r)
	if r.Method == http.MethodGet {
		inc.serveArchive(w, r, nil, fail, func(h http.Header, meta *raft.SnapshotMeta, _ []byte) {
			h.Set("X-Consul-Index", strconv.FormatUint(meta.Index, 10))
			h.Set("X-Consul-KnownLeader", "true")
			h.Set("X-Consul-LastContact", "0")
		})
		return
	}
	if inc.restoreArchive(w, r, nil, fail) {
		w.WriteHeader(http.StatusOK)
	}
}

// vault: GET/POST /v1/sys/storage/raft/snapshot and POST .../snapshot-force, X-Vault-Token;
// a standby answers 307 to the active node before looking at the token. With -seal-key the
// archives carry SHA256SUMS.sealed and a non-forced restore requires it to open and match.
func (inc *incarnation) vault(force bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fail := vaultError(w)
		if force && !requireMethod(w, r, http.MethodPost, http.MethodPut) {
			return
		}
		if !force && !requireMethod(w, r, http.MethodGet, http.MethodPost, http.MethodPut) {
			return
		}
		if !inc.isLeader() {
			inc.redirectToLeader(w, r, fail)
			return
		}
		if !inc.n.c.tokenOK(token(r, "X-Vault-Token")) {
			fail(http.StatusForbidden, "permission denied")
			return
		}
		inc.recordRequest(r)
		s := inc.n.c.sealer
		if r.Method == http.MethodGet {
			inc.serveArchive(w, r, s, fail, func(http.Header, *raft.SnapshotMeta, []byte) {})
			return
		}
		if force {
			s = nil
		}
		if inc.restoreArchive(w, r, s, fail) {
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// nomad: GET/PUT /v1/operator/snapshot, X-Nomad-Token; the save carries
// Digest: sha-256=<base64 of the archive's SHA-256>; followers forward to the leader unless ?stale.
func (inc *incarnation) nomad(w http.ResponseWriter, r *http.Request) {
	fail := textError(w)
	if !requireMethod(w, r, http.MethodGet, http.MethodPut) {
		return
	}
	if !inc.n.c.tokenOK(token(r, "X-Nomad-Token")) {
		fail(http.StatusForbidden, "Permission denied")
		return
	}
	_, stale := r.URL.Query()["stale"]
	if !inc.isLeader() && !(r.Method == http.MethodGet && stale) {
		inc.proxyToLeader(w, r, fail)
		return
	}
	inc.recordRequest(r)
	if r.Method == http.MethodGet {
		inc.serveArchive(w, r, nil, fail, func(h http.Header, meta *raft.SnapshotMeta, digest []byte) {
			h.Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(digest))
			h.Set("X-Nomad-Index", strconv.FormatUint(meta.Index, 10))
		})
		return
	}
	if inc.restoreArchive(w, r, nil, fail) {
		writeJSON(w, http.StatusOK, map[string]interface{}{"Index": inc.r.LastIndex()})
	}
}

// ---- test hooks -----------------------------------------------------------------------------

// queryDuration reads a millisecond query parameter.
func queryDuration(r *http.Request, name string, def time.Duration) time.Duration {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

func queryInt(r *http.Request, name string, def int64) int64 {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// sleepFor waits d, or returns false when the client went away first.
func sleepFor(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// sendWithHooks copies src to the response. drop_after=<bytes>: after that many bytes the
// connection is aborted (no clean end of the response). throttle=<bytes per second>: the body
// is paced at that rate, flushed as it goes.
func sendWithHooks(w http.ResponseWriter, r *http.Request, src io.Reader) {
	drop := queryInt(r, "drop_after", -1)
	rate := queryInt(r, "throttle", 0)
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	start := time.Now()
	var sent int64
	for {
		size := len(buf)
		if rate > 0 {
			if c := int(rate / 50); c < size {
				size = c
			}
			if size < 1 {
				size = 1
			}
		}
		if drop >= 0 {
			if sent >= drop {
				if fl != nil {
					fl.Flush()
				}
				panic(http.ErrAbortHandler)
			}
			if left := drop - sent; left < int64(size) {
				size = int(left)
			}
		}
		n, err := src.Read(buf[:size])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			if rate > 0 {
				if fl != nil {
					fl.Flush()
				}
				due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
				if !sleepFor(r, time.Until(due)) {
					return
				}
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			log.Printf("reading the snapshot failed: %v", err)
			panic(http.ErrAbortHandler)
		}
	}
}
