// Command go-baseline is the benchmarks' reference pipeline: what hashicorp/raft-snapshot does
// to write and to verify a snapshot archive, written with Go's standard library only.
//
//	go-baseline create META STATE OUT   tar (meta.json, state.bin, SHA256SUMS; mode 0600)
//	                                    → gzip at the default level → OUT, hashing every entry
//	                                    and the whole archive. No fsync: the reference does none.
//	                                    Prints the archive's SHA-256 and size.
//	go-baseline verify FILE             gzip → tar → SHA-256 of meta.json and state.bin, checked
//	                                    against SHA256SUMS with the reference's rules (every line
//	                                    names a hashed file with its hash, every hashed file is
//	                                    listed; SHA256SUMS.sealed is read, not opened), meta.json
//	                                    decoded into raft.SnapshotMeta's shape, gzip read to EOF
//	                                    (CRC, length, no bytes after the tar). Prints both hashes
//	                                    and the metadata as json.Marshal encodes it.
//	go-baseline inflate FILE            bare gzip decompression to io.Discard: verify's floor.
//
// Exit status 0 on success, 1 on failure (with "error: ..." on stderr), 2 on usage errors.
//
// The bench builds this file at run time with the system's Go into bench/data/ (gitignored).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"time"
)

// maxSmallFile bounds meta.json and SHA256SUMS, as the reference does.
const maxSmallFile = 8192

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "create":
		if len(os.Args) != 5 {
			usage()
		}
		err = create(os.Args[2], os.Args[3], os.Args[4])
	case "verify":
		if len(os.Args) != 3 {
			usage()
		}
		err = verify(os.Args[2])
	case "inflate":
		if len(os.Args) != 3 {
			usage()
		}
		err = inflate(os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go-baseline create META STATE OUT | verify FILE | inflate FILE")
	os.Exit(2)
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// create writes the archive: tar entries through gzip into OUT, with the SHA-256 of every entry
// (for SHA256SUMS) and of the compressed archive.
func create(metaPath, statePath, outPath string) error {
	meta, err := os.ReadFile(metaPath)
	if err != nil {
		return err
	}
	state, err := os.Open(statePath)
	if err != nil {
		return err
	}
	defer state.Close()
	info, err := state.Stat()
	if err != nil {
		return err
	}

	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	archiveHash := sha256.New()
	size := &countingWriter{}
	compressor := gzip.NewWriter(io.MultiWriter(out, archiveHash, size))
	tw := tar.NewWriter(compressor)
	now := time.Now()

	header := func(name string, n int64) error {
		return tw.WriteHeader(&tar.Header{
			Name:     name,
			Mode:     0o600,
			Size:     n,
			ModTime:  now,
			Typeflag: tar.TypeReg,
		})
	}

	metaHash := sha256.New()
	if err := header("meta.json", int64(len(meta))); err != nil {
		return err
	}
	if _, err := io.MultiWriter(tw, metaHash).Write(meta); err != nil {
		return err
	}

	stateHash := sha256.New()
	if err := header("state.bin", info.Size()); err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(tw, stateHash), state); err != nil {
		return err
	}

	var sums bytes.Buffer
	fmt.Fprintf(&sums, "%x  %s\n", metaHash.Sum(nil), "meta.json")
	fmt.Fprintf(&sums, "%x  %s\n", stateHash.Sum(nil), "state.bin")
	if err := header("SHA256SUMS", int64(sums.Len())); err != nil {
		return err
	}
	if _, err := tw.Write(sums.Bytes()); err != nil {
		return err
	}

	if err := tw.Close(); err != nil {
		return err
	}
	if err := compressor.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Printf("sha256 %x\nbytes %d\n", archiveHash.Sum(nil), size.n)
	return nil
}

// verify reads the whole archive as the reference's Verify does.
func verify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	decomp, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("failed to decompress snapshot: %v", err)
	}
	meta, metaHash, stateHash, err := readArchive(decomp)
	if err != nil {
		return fmt.Errorf("failed to read snapshot file: %v", err)
	}
	// Read the gzip stream to its end: this checks the CRC and length, and that nothing follows
	// the tar archive.
	extra, err := io.Copy(io.Discard, decomp)
	if err != nil {
		return err
	}
	if extra != 0 {
		return fmt.Errorf("%d unread uncompressed bytes remain", extra)
	}
	if err := decomp.Close(); err != nil {
		return err
	}
	encoded, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	fmt.Printf("meta.json %x\nstate.bin %x\nmeta %s\n", metaHash, stateHash, encoded)
	return nil
}

// snapshotMeta has the JSON shape of hashicorp/raft's SnapshotMeta (field names, order and
// types), so that meta.json decodes and re-encodes here as it does in the reference.
type snapshotMeta struct {
	Version       int
	ID            string
	Index         uint64
	Term          uint64
	Peers         []byte
	Configuration struct {
		Servers []struct {
			Suffrage int
			ID       string
			Address  string
		}
	}
	ConfigurationIndex uint64
	Size               int64
}

// readArchive walks the tar entries, hashing meta.json and state.bin and checking them against
// SHA256SUMS. meta.json must decode into SnapshotMeta's shape.
func readArchive(r io.Reader) (decoded *snapshotMeta, metaSum, stateSum []byte, err error) {
	tr := tar.NewReader(r)
	metaHash := sha256.New()
	stateHash := sha256.New()
	var sums []byte
	decoded = &snapshotMeta{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("failed reading snapshot: %v", err)
		}
		switch hdr.Name {
		case "meta.json":
			// Each meta.json entry is decoded into the same metadata, as in the reference.
			meta, err := readSmall(tr, metaHash)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("failed to read snapshot metadata: %v", err)
			}
			if err := json.Unmarshal(meta, decoded); err != nil {
				return nil, nil, nil, fmt.Errorf("failed to decode snapshot metadata: %v", err)
			}
		case "state.bin":
			if _, err := io.Copy(stateHash, tr); err != nil {
				return nil, nil, nil, fmt.Errorf("failed to read or write snapshot data: %v", err)
			}
		case "SHA256SUMS":
			// Every SHA256SUMS entry adds to one list, as in the reference.
			more, err := readSmall(tr, nil)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("failed to read snapshot hashes: %v", err)
			}
			sums = append(sums, more...)
		case "SHA256SUMS.sealed":
			if _, err := readSmall(tr, nil); err != nil {
				return nil, nil, nil, fmt.Errorf("failed to read snapshot hashes: %v", err)
			}
		default:
			return nil, nil, nil, fmt.Errorf("unexpected file %q in snapshot", hdr.Name)
		}
	}
	metaSum = metaHash.Sum(nil)
	stateSum = stateHash.Sum(nil)
	if err := checkSums(sums, map[string][]byte{"meta.json": metaSum, "state.bin": stateSum}); err != nil {
		return nil, nil, nil, fmt.Errorf("failed checking integrity of snapshot: %v", err)
	}
	return decoded, metaSum, stateSum, nil
}

// readSmall reads an entry of at most maxSmallFile bytes, hashing it when h is not nil.
func readSmall(r io.Reader, h hash.Hash) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, maxSmallFile))
	if err != nil {
		return nil, err
	}
	if n >= maxSmallFile {
		return nil, fmt.Errorf("file too large (%d bytes or more)", maxSmallFile)
	}
	if h != nil {
		h.Write(buf.Bytes())
	}
	return buf.Bytes(), nil
}

// checkSums reads SHA256SUMS line by line as the reference does: every line is "<hex>  <name>"
// for a file that was hashed, with that hash; every hashed file must be listed.
func checkSums(sums []byte, have map[string][]byte) error {
	seen := map[string]bool{}
	lines := bufio.NewScanner(bytes.NewReader(sums))
	for lines.Scan() {
		var sum []byte
		var name string
		if _, err := fmt.Sscanf(lines.Text(), "%x  %s", &sum, &name); err != nil {
			return err
		}
		want, ok := have[name]
		if !ok {
			return fmt.Errorf("list missing hash for %q", name)
		}
		if !bytes.Equal(want, sum) {
			return fmt.Errorf("hash check failed for %q", name)
		}
		seen[name] = true
	}
	if err := lines.Err(); err != nil {
		return err
	}
	for name := range have {
		if !seen[name] {
			return fmt.Errorf("file missing for %q", name)
		}
	}
	return nil
}

// inflate decompresses the gzip stream to io.Discard: no tar, no hashing.
func inflate(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	decomp, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, decomp)
	if err != nil {
		return err
	}
	fmt.Printf("bytes %d\n", n)
	return decomp.Close()
}
