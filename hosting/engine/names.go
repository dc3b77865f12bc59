package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"tbhost/hosting/kind"
	"unicode"
	"unicode/utf8"
)

// RootRun is the name of the run at the log dir's root.
const RootRun = "."

// Limits on names that come from users.
const (
	maxRunLen  = 512
	maxFileLen = 255
	maxNameLen = 100
	maxDescLen = 2000
)

// CleanRun validates a run name and returns its normal form: "/"-separated,
// no empty or "." segments, "." for the root. A backslash is part of a
// folder's name, as TensorBoard reads it on the systems that write event
// files (a client on Windows sends its separators as "/"). Absolute paths,
// "..", NUL and control characters are refused.
func CleanRun(run string) (string, error) {
	if err := checkText("run name", run, maxRunLen); err != nil {
		return "", err
	}
	if strings.HasPrefix(run, "/") || (len(run) >= 2 && run[1] == ':') {
		return "", kind.Errorf(kind.Invalid, "run name %q is an absolute path; give it relative to the log dir", run)
	}
	var segs []string
	for _, seg := range strings.Split(run, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", kind.Errorf(kind.Invalid, "run name %q contains \"..\"", run)
		}
		segs = append(segs, seg)
	}
	if len(segs) == 0 {
		return RootRun, nil
	}
	return strings.Join(segs, "/"), nil
}

// CleanFile validates an event file's base name.
func CleanFile(file string) (string, error) {
	if err := checkText("file name", file, maxFileLen); err != nil {
		return "", err
	}
	if file == "" || file == "." || file == ".." || strings.ContainsAny(file, `/\`) {
		return "", kind.Errorf(kind.Invalid, "file name %q must be a plain base name", file)
	}
	return file, nil
}

func checkText(what, s string, max int) error {
	if s == "" && what == "file name" {
		return kind.Errorf(kind.Invalid, "%s is empty", what)
	}
	if len(s) > max {
		return kind.Errorf(kind.Invalid, "%s is %d bytes long; the limit is %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return kind.Errorf(kind.Invalid, "%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r == 0 || unicode.IsControl(r) {
			return kind.Errorf(kind.Invalid, "%s %q contains a control character", what, s)
		}
	}
	return nil
}

// maxSegment is the longest key segment escapeSegment makes: stores keep
// segments under 255 bytes (file systems) and keys under 1024 (GCS).
const maxSegment = 160

// escapeSegment turns a name into one store key segment: the name
// percent-escaped, or for a long name a readable prefix of it and a hash of
// the whole.
func escapeSegment(s string) string {
	e := url.PathEscape(s)
	if strings.HasPrefix(e, ".") {
		e = "%2E" + e[1:]
	}
	if len(e) <= maxSegment {
		return e
	}
	h := sha256.Sum256([]byte(s))
	prefix := e[:maxSegment-33]
	if i := strings.LastIndexByte(prefix, '%'); i >= len(prefix)-2 {
		prefix = prefix[:i] // do not cut an escape in two
	}
	return prefix + "~" + hex.EncodeToString(h[:16])
}

// hashedSegment reports whether escapeSegment shortened a name to seg
// (which then cannot be unescaped: the name is kept beside the parts).
func hashedSegment(seg string) bool {
	i := strings.LastIndexByte(seg, '~')
	return i >= 0 && len(seg)-i == 33
}

// nameObject is the object beside a file's raw parts that holds the
// file's name, when its folder's segment is hashed.
const nameObject = "name"

func boardPrefix(id string) string { return "boards/" + id + "/" }
func boardKey(id string) string    { return boardPrefix(id) + "board.json" }
func digestPrefix(id string) string {
	return boardPrefix(id) + "digest/"
}
func digestKey(id, run string) string {
	h := sha256.Sum256([]byte(run))
	return digestPrefix(id) + hex.EncodeToString(h[:16]) + ".pb"
}
func rawPrefix(id string) string { return boardPrefix(id) + "raw/" }
func rawFilePrefix(id, run, file string) string {
	return rawPrefix(id) + escapeSegment(run) + "/" + escapeSegment(file) + "/"
}
func rawPartKey(id, run, file string, off int64) string {
	return fmt.Sprintf("%s%020d", rawFilePrefix(id, run, file), off)
}
