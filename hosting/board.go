package hosting

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// boardMeta is boards/<id>/board.json. Only hashes of secrets are stored.
type boardMeta struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Private     bool      `json:"private"`
	TokenHash   string    `json:"token_hash"`
	ViewKeyHash string    `json:"view_key_hash,omitempty"`
}

// BoardEdit is what an owner may change (nil fields are left alone).
type BoardEdit struct {
	Name          *string `json:"name"`
	Description   *string `json:"description"`
	Private       *bool   `json:"private"`
	RotateViewKey bool    `json:"rotate_view_key"`
}

// idPattern matches board ids: 128 random bits as unpadded base64url.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return Errorf(NotFound, "board %q not found", id)
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
		return Errorf(Invalid, "description is %d bytes long; the limit is %d", len(desc), maxDescLen)
	}
	if strings.ContainsRune(desc, 0) {
		return Errorf(Invalid, "description contains a NUL byte")
	}
	return nil
}

func (s *Server) loadBoard(ctx context.Context, id string) (*boardMeta, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if b, ok := s.cache.board(id, s.now()); ok {
		return b, nil
	}
	data, _, err := s.store.Get(ctx, boardKey(id))
	if err != nil {
		if KindOf(err) == NotFound {
			return nil, Errorf(NotFound, "board %s not found", id)
		}
		return nil, fmt.Errorf("read board %s: %w", id, err)
	}
	var b boardMeta
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode board %s: %w", id, err)
	}
	s.cache.putBoard(&b, s.now())
	return &b, nil
}

func (s *Server) saveBoard(ctx context.Context, b *boardMeta) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode board %s: %w", b.ID, err)
	}
	if err := s.store.Put(ctx, boardKey(b.ID), data); err != nil {
		return fmt.Errorf("write board %s: %w", b.ID, err)
	}
	s.cache.putBoard(b, s.now())
	return nil
}

// authorizeWrite checks the board's write token.
func authorizeWrite(b *boardMeta, token string) error {
	if token == "" {
		return Errorf(Unauthorized, "this needs the board's write token (Authorization: Bearer <token>)")
	}
	if !secretMatches(token, b.TokenHash) {
		return Errorf(Forbidden, "the write token is not the one for board %s", b.ID)
	}
	return nil
}

// authorizeRead lets anyone read a public board; a private one needs its
// view key or its write token.
func authorizeRead(b *boardMeta, key, token string) error {
	if !b.Private {
		return nil
	}
	if key == "" && token == "" {
		return Errorf(Unauthorized, "board %s is private: add ?key=<view key> to the link", b.ID)
	}
	if secretMatches(key, b.ViewKeyHash) || secretMatches(token, b.TokenHash) {
		return nil
	}
	return Errorf(Forbidden, "the view key is not the one for board %s", b.ID)
}
