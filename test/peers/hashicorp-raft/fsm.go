package main

// The key/value FSM: state = map[string][]byte; a log entry is a JSON command setting keys;
// Snapshot persists the whole map as JSON (sorted keys, base64 values); Restore replaces it.

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// command is one log entry: set every key of Set to its value.
type command struct {
	Set map[string][]byte `json:"set"`
}

type kvFSM struct {
	mu    sync.RWMutex
	state map[string][]byte
}

func newFSM() *kvFSM { return &kvFSM{state: map[string][]byte{}} }

func (f *kvFSM) Apply(l *raft.Log) interface{} {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range c.Set {
		f.state[k] = v
	}
	return nil
}

func (f *kvFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	cp := make(map[string][]byte, len(f.state))
	for k, v := range f.state {
		cp[k] = v
	}
	return &kvSnapshot{state: cp}, nil
}

func (f *kvFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	state := map[string][]byte{}
	if err := json.NewDecoder(rc).Decode(&state); err != nil {
		return err
	}
	f.mu.Lock()
	f.state = state
	f.mu.Unlock()
	return nil
}

// keys is the number of keys held.
func (f *kvFSM) keys() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.state)
}

// get returns one value.
func (f *kvFSM) get(k string) ([]byte, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok := f.state[k]
	return v, ok
}

// dump is the state as a JSON object of strings, keys sorted (encoding/json sorts map keys).
func (f *kvFSM) dump() ([]byte, error) {
	f.mu.RLock()
	out := make(map[string]string, len(f.state))
	for k, v := range f.state {
		out[k] = string(v)
	}
	f.mu.RUnlock()
	return json.Marshal(out)
}

type kvSnapshot struct{ state map[string][]byte }

func (s *kvSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := json.Marshal(s.state)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *kvSnapshot) Release() {}
