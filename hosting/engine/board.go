package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"tbhost/hosting/kind"
	"time"
)

// Board is boards/<id>/board.json. Only hashes of secrets are stored.
type Board struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Private     bool      `json:"private"`
	TokenHash   string    `json:"token_hash"`
	ViewKeyHash string    `json:"view_key_hash,omitempty"`
	// Deleted marks a board being deleted (a tombstone): it reads as not
	// found, and whoever meets it finishes the delete (DeleteBoard).
	Deleted time.Time `json:"deleted,omitzero"`

	gen int64 // store generation of the board.json this was read from
}

// idPattern matches board ids: 128 random bits as unpadded base64url.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// ValidID reports whether id has the shape of a board id (whether or not
// such a board exists).
func ValidID(id string) bool { return idPattern.MatchString(id) }

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return kind.Errorf(kind.NotFound, "board %q not found", id)
	}
	return nil
}

// newSecret returns n random bytes as unpadded base64url text.
func newSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newBoardID returns a random board id that starts with a letter or a
// digit: an id that starts with "-" would read as a flag on a command line
// (tbhost export -x...).
func newBoardID() (string, error) {
	for {
		id, err := newSecret(16)
		if err != nil || id[0] != '-' && id[0] != '_' {
			return id, err
		}
	}
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// secretMatches compares a presented secret with a stored hash in constant time.
func secretMatches(presented, hash string) bool {
	if presented == "" || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashSecret(presented)), []byte(hash)) == 1
}

func validateNameDesc(name, desc string) error {
	if err := checkText("board name", name, maxNameLen); err != nil {
		return err
	}
	if len(desc) > maxDescLen {
		return kind.Errorf(kind.Invalid, "description is %d bytes long; the limit is %d", len(desc), maxDescLen)
	}
	if strings.ContainsRune(desc, 0) {
		return kind.Errorf(kind.Invalid, "description contains a NUL byte")
	}
	return nil
}
