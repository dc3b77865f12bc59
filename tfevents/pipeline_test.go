package tfevents

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"
)

// scanResult is everything a scan yields.
type scanResult struct {
	vals    []Value
	stats   FileStats
	err     string
	plugins map[string]string
}

// pipeMode configures a Scanner's pipeline: after < 0 never starts it.
type pipeMode struct {
	after int64
	batch int
}

var plain = pipeMode{after: -1, batch: batchSize}

func (m pipeMode) String() string { return fmt.Sprintf("after=%d,batch=%d", m.after, m.batch) }

func newTestScanner(r io.Reader, opts Options, m pipeMode) *Scanner {
	s := NewScanner(r, opts)
	s.pipeAfter, s.batchCap = m.after, m.batch
	return s
}

// collect scans to the end (of what r gives now) and appends to res.
func collect(s *Scanner, res *scanResult) {
	for s.Scan() {
		v := copyValue(s.Value())
		v.Metadata = bytes.Clone(s.Value().Metadata)
		res.vals = append(res.vals, v)
	}
	res.stats = s.Stats()
	if err := s.Err(); err != nil {
		res.err = err.Error()
	}
	res.plugins = s.Plugins()
}

func scanMode(data []byte, rd func([]byte) io.Reader, opts Options, m pipeMode) scanResult {
	s := newTestScanner(rd(data), opts, m)
	defer s.Close()
	var res scanResult
	collect(s, &res)
	// Scanning on at the end yields nothing more and changes nothing.
	again := res
	again.vals = nil
	collect(s, &again)
	if len(again.vals) != 0 || !reflect.DeepEqual(again.stats, res.stats) || again.err != res.err {
		res.err += fmt.Sprintf(" [rescan: %d values, stats %+v, err %q]", len(again.vals), again.stats, again.err)
	}
	return res
}

func diffResults(t *testing.T, what string, got, want scanResult) {
	t.Helper()
	if len(got.vals) != len(want.vals) {
		t.Fatalf("%s: %d values, plain %d", what, len(got.vals), len(want.vals))
	}
	for i := range got.vals {
		// %+v: NaN scalars are not DeepEqual to themselves.
		if !reflect.DeepEqual(got.vals[i], want.vals[i]) && fmt.Sprintf("%+v", got.vals[i]) != fmt.Sprintf("%+v", want.vals[i]) {
			t.Fatalf("%s: value %d\n got %+v\nwant %+v", what, i, got.vals[i], want.vals[i])
		}
	}
	if !reflect.DeepEqual(got.stats, want.stats) {
		t.Fatalf("%s: stats\n got %+v\nwant %+v", what, got.stats, want.stats)
	}
	if got.err != want.err {
		t.Fatalf("%s: err %q, plain %q", what, got.err, want.err)
	}
	if !reflect.DeepEqual(got.plugins, want.plugins) {
		t.Fatalf("%s: plugins %v, plain %v", what, got.plugins, want.plugins)
	}
}

// mixedFile returns an event file of every kind of record, a bad payload
// CRC and an undecodable Event among them.
func mixedFile(t testing.TB) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteFileVersion(1.5e9))
	must(w.WriteSessionStart(0, 1.5e9))
	must(w.WriteGraph(0, 1.5e9, []byte("graph bytes")))
	for step := int64(0); step < 6; step++ {
		wall := 1.5e9 + float64(step)
		must(w.WriteScalar("loss", step, wall, 1/float64(step+1)))
		must(w.WriteTensorScalar("acc", step, wall, float64(step)/10))
		must(w.WriteHistogramTF1("w1", step, wall, HistogramTF1{Min: -1, Max: 2, Limits: []float64{0, 1, 2}, Counts: []float64{0, 3, 4}}))
		must(w.WriteHistogram("w2", step, wall, [][3]float64{{0, 1, 2}, {1, 2, float64(step)}}))
		if step%2 == 0 {
			must(w.WriteImageTF1("img1", step, wall, 2, 3, []byte("png-ish")))
			must(w.WriteImage("img2", step, wall, 4, 5, []byte("a"), []byte("bc")))
			must(w.WriteAudioTF1("snd", step, wall, []byte("RIFF...."), "audio/wav"))
			must(w.WriteText("notes", step, wall, "hello", "world"))
		}
		if step == 2 {
			bad := buf.Len()
			must(w.WriteScalar("loss", step, wall, 9))
			buf.Bytes()[bad+headerLen+3] ^= 0x40 // payload CRC mismatch
			must(w.WriteEvent([]byte{0xff, 0xff}))
			must(w.WriteEvent(nil))
		}
	}
	return bytes.Clone(buf.Bytes())
}

// readers are the ways the tests hand bytes to a Scanner.
var readers = []struct {
	name string
	rd   func([]byte) io.Reader
}{
	{"bytes", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"read error", func(b []byte) io.Reader {
		return io.MultiReader(bytes.NewReader(b), iotest.ErrReader(errors.New("disk on fire")))
	}},
}

// TestPipelineMatchesPlain checks that the pipelined and the plain path
// yield the same Values, Stats, errors and plugins on inputs cut at every
// offset, with and without corruption, through several readers.
func TestPipelineMatchesPlain(t *testing.T) {
	mixed := mixedFile(t)
	corrupt := bytes.Clone(mixed)
	corrupt[len(corrupt)/2] ^= 0x10 // probably framing, possibly a payload
	lenCRC := bytes.Clone(mixed)
	{ // break the length CRC of a record near the middle
		r := NewReader(bytes.NewReader(lenCRC), Options{})
		for r.Offset() < int64(len(lenCRC))/2 {
			r.Next()
		}
		lenCRC[r.Offset()+9] ^= 1
	}
	modes := []pipeMode{{0, 1}, {0, 300}, {200, 1}, {700, 4096}}
	inputs := []struct {
		name string
		data []byte
		opts Options
	}{
		{"mixed", mixed, Options{}},
		{"corrupt byte", corrupt, Options{}},
		{"length CRC", lenCRC, Options{}},
		{"too large", mixed, Options{MaxRecord: 120}},
	}
	step := 1
	if testing.Short() || raceEnabled {
		step = 41
	}
	for _, in := range inputs {
		for _, rd := range readers {
			for cut := 0; cut <= len(in.data); cut += step {
				if rd.name != "bytes" && cut%(5*step) != 0 && cut != len(in.data) {
					continue
				}
				data := in.data[:cut]
				want := scanMode(data, rd.rd, in.opts, plain)
				for _, m := range modes {
					got := scanMode(data, rd.rd, in.opts, m)
					diffResults(t, fmt.Sprintf("%s/%s/cut %d/%v", in.name, rd.name, cut, m), got, want)
				}
			}
		}
	}
}

// TestPipelineMatchesPlainGenerated checks big generated scalar files (the
// pipeline starting on its own after pipelineAfter bytes) cut at random
// offsets and at every offset of a window around batch boundaries.
func TestPipelineMatchesPlainGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tf2 := range []bool{false, true} {
		data := genScalars(4000, 10, tf2) // ~2.5-4 MB: the default mode pipelines
		full := scanMode(data, readers[0].rd, Options{}, plain)
		got := scanMode(data, readers[0].rd, Options{}, pipeMode{pipelineAfter, batchSize})
		diffResults(t, fmt.Sprintf("tf2=%v whole default", tf2), got, full)
		if len(full.vals) != 40000 {
			t.Fatalf("%d values", len(full.vals))
		}
		cuts := []int{}
		for range 8 {
			cuts = append(cuts, rng.IntN(len(data)))
		}
		for c := 300_000; c < 300_000+64; c++ {
			cuts = append(cuts, c)
		}
		if raceEnabled || testing.Short() {
			cuts = cuts[:4]
		}
		for _, cut := range cuts {
			want := scanMode(data[:cut], readers[0].rd, Options{}, plain)
			for _, m := range []pipeMode{{0, 4096}, {100_000, batchSize}} {
				got := scanMode(data[:cut], readers[0].rd, Options{}, m)
				diffResults(t, fmt.Sprintf("tf2=%v cut %d %v", tf2, cut, m), got, want)
			}
		}
	}
}

// TestPipelineMatchesPlainCorpus: on every file of each corpus, the
// pipelined paths yield what the plain one does.
func TestPipelineMatchesPlainCorpus(t *testing.T) {
	for _, c := range corpusRuns {
		t.Run(c.name, func(t *testing.T) {
			files := c.files(t)
			modes := []pipeMode{{0, batchSize}, {0, 4096}, {0, 64}, {pipelineAfter, batchSize}}
			if raceEnabled || testing.Short() {
				modes = modes[1:2] // `make test` also runs this test without -race
			}
			for i, f := range files {
				want := scanMode(f, readers[0].rd, Options{}, plain)
				for _, m := range modes {
					got := scanMode(f, readers[0].rd, Options{}, m)
					diffResults(t, fmt.Sprintf("%s file %d (%d bytes) %v", c.name, i, len(f), m), got, want)
				}
			}
		})
	}
}

// TestPipelineFollowsGrowingInput: at EOF the pipeline ends and a later
// Scan resumes (and may pipeline again), as the plain path does.
func TestPipelineFollowsGrowingInput(t *testing.T) {
	data := mixedFile(t)
	for _, m := range []pipeMode{plain, {0, 1}, {0, 512}, {300, 4096}} {
		for avail := 0; avail <= len(data); avail += 97 {
			g := &growingReader{data: data, avail: avail}
			s := newTestScanner(g, Options{}, m)
			var res scanResult
			collect(s, &res)
			for g.avail < len(data) {
				g.avail = min(len(data), g.avail+1000)
				collect(s, &res)
			}
			s.Close()
			want := scanMode(data, readers[0].rd, Options{}, plain)
			want.stats.Warnings = nil
			res.stats.Warnings = nil // truncated-tail warnings depend on the steps
			diffResults(t, fmt.Sprintf("%v avail %d", m, avail), res, want)
		}
	}
}

// framerReturned fails the test unless the framer of p has returned: it
// closes p.done as it returns, and Close and the end of a scan wait for it.
func framerReturned(t *testing.T, p *pipe, what string) {
	t.Helper()
	select {
	case <-p.done:
	default:
		t.Fatalf("%s: the framer still runs", what)
	}
}

// stallingReader serves data, then blocks in Read (signalling stalled)
// until release is closed, and then fails.
type stallingReader struct {
	data             []byte
	stalled, release chan struct{}
}

func (r *stallingReader) Read(b []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(b, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	close(r.stalled)
	<-r.release
	return 0, errors.New("gone")
}

func TestScannerCloseStopsPipeline(t *testing.T) {
	data := genScalars(2000, 10, true)

	// Abandoned after one value: the framer is blocked on a full channel.
	s := newTestScanner(bytes.NewReader(data), Options{}, pipeMode{0, 1024})
	if !s.Scan() {
		t.Fatal("no value")
	}
	p := s.p
	if p == nil {
		t.Fatal("the pipeline did not start")
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	framerReturned(t, p, "Close after one value")
	if s.Scan() || s.Value() != nil {
		t.Fatal("Scan after Close")
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Stats(), st) || s.Err() != nil {
		t.Fatalf("Close changed stats %+v or err %v", s.Stats(), s.Err())
	}

	// To the end: the framer returns by itself; then Close twice.
	s = newTestScanner(bytes.NewReader(data), Options{}, pipeMode{0, batchSize})
	s.Scan()
	p = s.p
	for s.Scan() {
	}
	if p == nil || s.p != nil {
		t.Fatalf("pipeline %p at the start, %p at the end", p, s.p)
	}
	framerReturned(t, p, "scan to the end")
	s.Close()
	s.Close()

	// A default Scanner on a big input pipelines on its own.
	big := genScalars(4000, 10, false)
	s = NewScanner(bytes.NewReader(big), Options{})
	for s.p == nil && s.Scan() {
	}
	if p = s.p; p == nil {
		t.Fatal("the default pipeline did not start")
	}
	s.Close()
	framerReturned(t, p, "Close of a default Scanner")
	NewScanner(bytes.NewReader(data), Options{}).Close() // Close before Scan

	// A fatal error ends the pipeline.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x55
	s = newTestScanner(bytes.NewReader(bad), Options{}, pipeMode{0, 4096})
	s.Scan()
	p = s.p
	for s.Scan() {
	}
	if p == nil {
		t.Fatal("the pipeline did not start")
	}
	framerReturned(t, p, "fatal error")
	s.Close()

	// Close while the framer waits in a read: it returns when the read
	// does, which here happens only once Close has asked the framer to stop.
	r := &stallingReader{data: data[:3000], stalled: make(chan struct{}), release: make(chan struct{})}
	s = newTestScanner(r, Options{}, pipeMode{0, 4096})
	if !s.Scan() {
		t.Fatal("no value")
	}
	p = s.p
	<-r.stalled // the framer has read everything and waits for more
	go func() {
		<-p.stop // closed by Close
		close(r.release)
	}()
	s.Close()
	framerReturned(t, p, "Close during a read")
}

type panicReader struct{ r io.Reader }

func (p panicReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		panic("reader panic")
	}
	return n, err
}

// TestPipelinePanics: a panic of the underlying reader reaches the caller
// of Scan, after the values framed before it, as on the plain path.
func TestPipelinePanics(t *testing.T) {
	data := genScalars(100, 3, false)
	for _, m := range []pipeMode{plain, {0, 1}, {0, 4096}} {
		n := 0
		func() {
			defer func() {
				if v := recover(); v != "reader panic" {
					t.Errorf("%v: recovered %v", m, v)
				}
			}()
			s := newTestScanner(panicReader{bytes.NewReader(data)}, Options{}, m)
			defer s.Close()
			for s.Scan() {
				n++
			}
		}()
		if n != 300 {
			t.Errorf("%v: %d values before the panic", m, n)
		}
	}
}

// TestPipelinedScalarEventsDoNotAllocate: no allocation per scalar event
// with the pipeline either (batches are recycled).
func TestPipelinedScalarEventsDoNotAllocate(t *testing.T) {
	for _, tf2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("tf2=%v", tf2), func(t *testing.T) {
			data := genScalars(5000, 10, tf2)
			s := newTestScanner(bytes.NewReader(data), Options{}, pipeMode{0, 16 << 10})
			defer s.Close()
			for i := 0; i < 2000; i++ { // warm up: tag cache, batches
				if !s.Scan() {
					t.Fatal("short")
				}
			}
			n := testing.AllocsPerRun(20000, func() {
				if !s.Scan() || s.Value().Kind != KindScalar {
					t.Fatalf("scan stopped: %v", s.Err())
				}
			})
			if n != 0 {
				t.Fatalf("%v allocs per scalar event", n)
			}
		})
	}
}
