package hosting_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tbhost/hosting/engine"
	"tbhost/hosting/store"
	"tbhost/tfevents"
)

// genEvents returns an event file of steps steps: three scalar tags every
// step, a histogram every 50 steps and a text every 100, varied by seed.
func genEvents(t testing.TB, seed, steps int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tfevents.NewWriter(&buf)
	wall := 1.7e9 + float64(seed)*1e5
	check := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.WriteFileVersion(wall))
	for step := range int64(steps) {
		wl := wall + float64(step)
		x := float64(step) + float64(seed)*0.37
		check(w.WriteScalar("loss", step, wl, math.Exp(-x/500)+0.01*math.Sin(x)))
		check(w.WriteScalar("accuracy", step, wl, 1-math.Exp(-x/300)))
		check(w.WriteTensorScalar("lr", step, wl, 1e-3*math.Pow(0.999, x)))
		if step%50 == 0 {
			b := make([][3]float64, 8)
			for i := range b {
				b[i] = [3]float64{float64(i), float64(i + 1), float64((i*7+seed+int(step))%13 + 1)}
			}
			check(w.WriteHistogram("weights", step, wl, b))
		}
		if step%100 == 0 {
			check(w.WriteText("notes", step, wl, fmt.Sprintf("board %d step %d", seed, step)))
		}
	}
	return buf.Bytes()
}

// loadFile is one file a load or fault test uploads.
type loadFile struct {
	board     created
	run, file string
	data      []byte
}

// loadClient sends requests from many goroutines without testing.T: it
// returns errors instead of failing the test.
type loadClient struct {
	base   func() string
	client *http.Client
}

func newLoadClient(base func() string) *loadClient {
	return &loadClient{base: base, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        128,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     10 * time.Second,
		},
	}}
}

func (c *loadClient) do(method, path, token string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, data, nil
}

// uploadPlain sends f in chunk-byte PUTs (an empty file in one empty
// PUT); any answer but 200 is an error.
func (c *loadClient) uploadPlain(f loadFile, chunk int) error {
	for off := 0; off == 0 || off < len(f.data); off += chunk {
		end := min(off+chunk, len(f.data))
		status, body, err := c.do("PUT", filePath(f.board.ID, f.run, f.file, int64(off)), f.board.Token, f.data[off:end])
		if err != nil {
			return fmt.Errorf("PUT %s/%s at %d: %w", f.run, f.file, off, err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("PUT %s/%s at %d: status %d: %s", f.run, f.file, off, status, body)
		}
		var res engine.AppendResult
		if err := json.Unmarshal(body, &res); err != nil || res.Size != int64(end) {
			return fmt.Errorf("PUT %s/%s at %d: answer %s, want size %d", f.run, f.file, off, body, end)
		}
	}
	return nil
}

// TestLoadUploadersAndReaders runs 64 clients at once against one server
// (32 uploading, one per (board, run), and 32 reading every board) for a
// fixed number of requests: no request may fail, and every board's raw
// export must equal what was uploaded, byte for byte.
func TestLoadUploadersAndReaders(t *testing.T) {
	for _, st := range stores[:2] { // mem and dir: loopback only, no GCS fake
		t.Run(st.name, func(t *testing.T) {
			testLoad(t, st.new(t))
		})
	}
}

func testLoad(t *testing.T, store store.Store) {
	const (
		boards      = 16
		runsPer     = 2
		steps       = 300  // ~25 KB per file
		chunk       = 4096 // ~7 PUTs per file
		readers     = 32
		readsPerRdr = 8
	)
	a := startServer(t, store)
	var files []loadFile
	want := map[string]map[string][]byte{} // board id -> run/file -> bytes
	for i := range boards {
		b := a.create(fmt.Sprintf("load %d", i))
		want[b.ID] = map[string][]byte{}
		for r := range runsPer {
			f := loadFile{board: b, run: fmt.Sprintf("run%d", r), file: fmt.Sprintf("events.out.tfevents.%d.load", 1000+i), data: genEvents(t, i*runsPer+r, steps)}
			files = append(files, f)
			want[b.ID][f.run+"/"+f.file] = f.data
		}
	}
	lc := newLoadClient(func() string { return a.base })
	defer lc.client.CloseIdleConnections()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []error
		requests atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 20 {
			errs = append(errs, err)
		}
	}
	var start sync.WaitGroup // released at once: every client starts together
	start.Add(1)
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			if err := lc.uploadPlain(f, chunk); err != nil {
				fail(err)
			}
			requests.Add(int64((len(f.data) + chunk - 1) / chunk))
		}()
	}
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for i := range readsPerRdr {
				f := files[(r*readsPerRdr+i)%len(files)]
				id := f.board.ID
				paths := []struct {
					path, token string
					ok          []int
				}{
					{"/api/boards/" + id, "", []int{200}},
					{"/api/boards/" + id + "/tags", "", []int{200}},
					{"/api/boards/" + id + "/runs", "", []int{200}},
					{"/api/boards/" + id + "/files", f.board.Token, []int{200}},
					// The series exists once the run's first chunk is in.
					{"/api/boards/" + id + "/scalars?run=" + f.run + "&tag=loss&width=200", "", []int{200, 404}},
				}
				p := paths[(r+i)%len(paths)]
				status, body, err := lc.do("GET", p.path, p.token, nil)
				requests.Add(1)
				switch {
				case err != nil:
					fail(fmt.Errorf("GET %s: %w", p.path, err))
				case !containsInt(p.ok, status):
					fail(fmt.Errorf("GET %s: status %d: %s", p.path, status, body))
				case status == 200 && !json.Valid(body):
					fail(fmt.Errorf("GET %s: invalid JSON %q", p.path, body))
				}
			}
		}()
	}
	start.Done()
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d requests from %d uploaders and %d readers", requests.Load(), len(files), readers)

	for id, files := range want {
		sameFiles(t, a.rawExport(id), files)
		tags := a.tags(id)
		for r := range runsPer {
			run := fmt.Sprintf("run%d", r)
			for tag, n := range map[string]int64{"loss": steps, "accuracy": steps, "lr": steps, "weights": steps / 50, "notes": steps / 100} {
				if got := tags[run][tag].Count; got != n {
					t.Errorf("board %s %s/%s: count %d, want %d", id, run, tag, got, n)
				}
			}
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
