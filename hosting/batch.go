package hosting

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"tbhost/hosting/engine"
	"tbhost/hosting/kind"
)

// Batched uploads: POST /api/boards/:id/batch carries appends to many
// files of many runs in one request (a sweep of thousands of small runs
// would otherwise cost a request per file). The body, plain or compressed
// like a PUT's (Content-Encoding gzip or zstd; the limits apply to the
// decompressed bytes), is
//
//	"TBB1"                                       magic and version
//	frame*                                       until the body ends
//	frame = uvarint len(run)  run                the run name, UTF-8
//	        uvarint len(file) file               the file's base name
//	        uvarint offset                       where the bytes go in the file
//	        uvarint len(data) data               the bytes
//
// (uvarints as in encoding/binary). A run's pieces apply in the order
// sent; pieces of different runs are independent. The answer is 200
// {"pieces": [...]}, one entry per frame in order: a PUT's answer
// {run, file, size, records, values, warnings, ...}, or {run, file,
// status, error} with status the HTTP status a PUT of the piece would have
// met (409 with "offset" on a gap: resend the file from there). The pieces
// of a run after one that failed are not applied (409, without offset).
// Errors of the request as a whole (token, body, framing) are answered as
// for a PUT, and then no piece was applied.

// batchMagic starts a batch body.
const batchMagic = "TBB1"

// Limits of a batch beyond the body size.
const (
	maxBatchPieces = 100_000
	maxBatchName   = 4096 // bytes of a run or file name field (names are checked after)
)

// BatchContentType is the media type of a batch body.
const BatchContentType = "application/vnd.tbhost.batch"

// parseBatch reads the frames of a batch body. The pieces index into body.
func parseBatch(body []byte) ([]engine.Piece, error) {
	rest, ok := bytes.CutPrefix(body, []byte(batchMagic))
	if !ok {
		return nil, kind.Errorf(kind.Invalid, "a batch body starts with %q; this one does not (send one frame per piece, see the API docs)", batchMagic)
	}
	var pieces []engine.Piece
	for n := 0; len(rest) > 0; n++ {
		if n == maxBatchPieces {
			return nil, kind.Errorf(kind.TooLarge, "a batch holds at most %d pieces: send the rest in another", maxBatchPieces)
		}
		var p engine.Piece
		var err error
		var name []byte
		if name, rest, err = batchField(rest, n, "run name", true); err != nil {
			return nil, err
		}
		p.Run = string(name)
		if name, rest, err = batchField(rest, n, "file name", true); err != nil {
			return nil, err
		}
		p.File = string(name)
		off, m := binary.Uvarint(rest)
		if m <= 0 || off > 1<<62 {
			return nil, kind.Errorf(kind.Invalid, "batch piece %d: its offset is cut short or out of range", n)
		}
		p.Offset, rest = int64(off), rest[m:]
		var data []byte
		if data, rest, err = batchField(rest, n, "data", false); err != nil {
			return nil, err
		}
		p.Len = int64(len(data))
		p.Pos = int64(len(body)-len(rest)) - p.Len
		pieces = append(pieces, p)
	}
	return pieces, nil
}

// batchField reads one length-prefixed field of frame n.
func batchField(b []byte, n int, what string, name bool) (field, rest []byte, err error) {
	l, m := binary.Uvarint(b)
	if m <= 0 {
		return nil, nil, kind.Errorf(kind.Invalid, "batch piece %d: the length of its %s is cut short or malformed", n, what)
	}
	if name && l > maxBatchName {
		return nil, nil, kind.Errorf(kind.Invalid, "batch piece %d: its %s is %d bytes long; names are far shorter", n, what, l)
	}
	if l > uint64(len(b)-m) {
		return nil, nil, kind.Errorf(kind.Invalid, "batch piece %d: its %s is %d bytes but the body ends %d bytes later", n, what, l, len(b)-m)
	}
	return b[m : m+int(l)], b[m+int(l):], nil
}

// batchAnswer is one piece's entry in a batch answer.
type batchAnswer struct {
	*engine.AppendResult
	Run    string `json:"run,omitempty"`
	File   string `json:"file,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Offset *int64 `json:"offset,omitempty"`
}

// appendBatch takes POST /api/boards/:id/batch.
func (s *Server) appendBatch(c *gin.Context) error {
	b, err := s.h.WritableBoard(c)
	if err != nil {
		return err
	}
	body := bodies.Get().(*bytes.Buffer)
	defer func() {
		if body.Cap() <= 2*int(s.cfg.MaxRequestBytes) {
			body.Reset()
			bodies.Put(body)
		}
	}()
	if err := s.readBody(c.Request, body); err != nil {
		return err
	}
	pieces, err := parseBatch(body.Bytes())
	if err != nil {
		return err
	}
	results, err := s.eng.AppendBatch(c.Request.Context(), b.ID, body.Bytes(), pieces)
	if err != nil {
		return err
	}
	out := make([]batchAnswer, len(results))
	for i, r := range results {
		if r.Err == nil {
			out[i] = batchAnswer{AppendResult: r.AppendResult, Run: r.Run, File: r.File}
			continue
		}
		a := batchAnswer{Run: pieces[i].Run, File: pieces[i].File, Status: kind.Status(r.Err), Error: r.Err.Error()}
		var e *kind.Error
		if errors.As(r.Err, &e) {
			a.Offset = e.Offset
		}
		if a.Status == http.StatusInternalServerError {
			s.log.ErrorContext(c.Request.Context(), "batch piece failed", "board", b.ID, "run", a.Run, "file", a.File, "err", r.Err)
			a.Error = "internal error: the server could not store this piece; try again, and report it if it persists"
		}
		out[i] = a
	}
	c.JSON(http.StatusOK, gin.H{"pieces": out})
	return nil
}
