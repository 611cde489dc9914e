package main

// Snapshot archives in the hashicorp/raft-snapshot format, written from the format description
// in raftsnap's README ("The format") with Go's standard library only: a gzip stream (default
// level) of a tar archive holding meta.json (json.Encoder of raft.SnapshotMeta), state.bin,
// SHA256SUMS ("%x  %s\n" lines) and, with a sealer, SHA256SUMS.sealed.
//
// This is test infrastructure: it is the "Go side" that judges raftsnap's archives and produces
// archives for raftsnap to judge.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// maxSmall bounds meta.json, SHA256SUMS and SHA256SUMS.sealed: an entry must be shorter.
const maxSmall = 8192

// sealer seals the SHA256SUMS list (AES-256-GCM: 12-byte nonce, ciphertext, 16-byte tag).
type sealer struct{ aead cipher.AEAD }

func newSealer(keyHex string) (*sealer, error) {
	key, err := hex.DecodeString(strings.TrimSpace(keyHex))
	if err != nil || len(key) != 32 {
		return nil, errors.New("seal key must be 64 hexadecimal characters")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, nil), nil
}

func (s *sealer) open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed data is too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], nil)
}

func putEntry(tw *tar.Writer, name string, size int64, now time.Time) error {
	return tw.WriteHeader(&tar.Header{
		Name:     name,
		Mode:     0600,
		Size:     size,
		ModTime:  now,
		Typeflag: tar.TypeReg,
	})
}

// writeArchive writes the gzip'd archive of meta and exactly meta.Size bytes of state to w.
// With a non-nil sealer it adds SHA256SUMS.sealed.
func writeArchive(w io.Writer, meta *raft.SnapshotMeta, state io.Reader, s *sealer) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()

	var metaBuf bytes.Buffer
	if err := json.NewEncoder(&metaBuf).Encode(meta); err != nil {
		return fmt.Errorf("failed to encode snapshot metadata: %v", err)
	}
	metaSum := sha256.Sum256(metaBuf.Bytes())
	if err := putEntry(tw, "meta.json", int64(metaBuf.Len()), now); err != nil {
		return err
	}
	if _, err := tw.Write(metaBuf.Bytes()); err != nil {
		return err
	}

	if err := putEntry(tw, "state.bin", meta.Size, now); err != nil {
		return err
	}
	stateHash := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, stateHash), io.LimitReader(state, meta.Size))
	if err != nil {
		return fmt.Errorf("failed to write snapshot data: %v", err)
	}
	if n != meta.Size {
		return fmt.Errorf("failed to write snapshot data: state has %d bytes, meta says %d", n, meta.Size)
	}

	sums := []byte(fmt.Sprintf("%x  %s\n%x  %s\n", metaSum[:], "meta.json", stateHash.Sum(nil), "state.bin"))
	if err := putEntry(tw, "SHA256SUMS", int64(len(sums)), now); err != nil {
		return err
	}
	if _, err := tw.Write(sums); err != nil {
		return err
	}
	if s != nil {
		sealed, err := s.seal(sums)
		if err != nil {
			return fmt.Errorf("failed to seal hashes: %v", err)
		}
		if err := putEntry(tw, "SHA256SUMS.sealed", int64(len(sealed)), now); err != nil {
			return err
		}
		if _, err := tw.Write(sealed); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// readSmall reads a whole entry, which must be shorter than maxSmall bytes.
func readSmall(r io.Reader, h hash.Hash) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, maxSmall)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n >= maxSmall {
		return nil, fmt.Errorf("read max specified bytes (%d) without EOF - possible truncation", maxSmall)
	}
	if h != nil {
		h.Write(buf.Bytes())
	}
	return buf.Bytes(), nil
}

// checkSums checks a SHA256SUMS list against the computed digests: every line must name a known
// file with its digest, and every known file must be listed.
func checkSums(list []byte, digests map[string][]byte) error {
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		var sum []byte
		var name string
		if _, err := fmt.Sscanf(sc.Text(), "%x  %s", &sum, &name); err != nil {
			return fmt.Errorf("invalid hash line %q: %v", sc.Text(), err)
		}
		want, ok := digests[name]
		if !ok {
			return fmt.Errorf("file %q in hash list is not in the snapshot", name)
		}
		if !bytes.Equal(sum, want) {
			return fmt.Errorf("hash of %s does not match", name)
		}
		seen[name] = true
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for name := range digests {
		if !seen[name] {
			return fmt.Errorf("file %q is missing from the hash list", name)
		}
	}
	return nil
}

// readArchive reads and checks a gzip'd archive from r as the products' restore does, copying
// state.bin to state as it goes, and returns the metadata. Only meta.json, state.bin, SHA256SUMS
// and SHA256SUMS.sealed are allowed; the hash list (and, with a sealer, the sealed list) must
// match. Reading stops at the end of the tar, as in the products (what follows in the gzip
// stream is not read). With a sealer the sealed list is mandatory and must verify too; with a
// nil sealer SHA256SUMS.sealed is read and ignored.
func readArchive(r io.Reader, state io.Writer, s *sealer) (*raft.SnapshotMeta, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("failed to read gzip header: %v", err)
	}
	tr := tar.NewReader(gz)
	metaHash, stateHash := sha256.New(), sha256.New()
	var meta raft.SnapshotMeta
	var sums, sealedSums []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed reading snapshot: %v", err)
		}
		switch hdr.Name {
		case "meta.json":
			b, err := readSmall(tr, metaHash)
			if err != nil {
				return nil, fmt.Errorf("failed to read snapshot metadata: %v", err)
			}
			if err := json.Unmarshal(b, &meta); err != nil {
				return nil, fmt.Errorf("failed to decode snapshot metadata: %v", err)
			}
		case "state.bin":
			if _, err := io.Copy(io.MultiWriter(state, stateHash), tr); err != nil {
				return nil, fmt.Errorf("failed to read or write snapshot data: %v", err)
			}
		case "SHA256SUMS":
			b, err := readSmall(tr, nil)
			if err != nil {
				return nil, fmt.Errorf("failed to read snapshot hashes: %v", err)
			}
			sums = append(sums, b...)
		case "SHA256SUMS.sealed":
			b, err := readSmall(tr, nil)
			if err != nil {
				return nil, fmt.Errorf("failed to read snapshot hashes: %v", err)
			}
			sealedSums = append(sealedSums, b...)
		default:
			return nil, fmt.Errorf("unexpected file %q in snapshot", hdr.Name)
		}
	}
	digests := map[string][]byte{"meta.json": metaHash.Sum(nil), "state.bin": stateHash.Sum(nil)}
	if s != nil {
		plain, err := s.open(sealedSums)
		if err != nil {
			return nil, fmt.Errorf("failed to open the sealed hashes: %v", err)
		}
		if err := checkSums(plain, digests); err != nil {
			return nil, fmt.Errorf("failed checking integrity of snapshot: %v", err)
		}
	}
	if err := checkSums(sums, digests); err != nil {
		return nil, fmt.Errorf("failed checking integrity of snapshot: %v", err)
	}
	return &meta, nil
}
