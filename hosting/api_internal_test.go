package hosting

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"tbhost/hosting/web"
)

// The hand-written JSON of scalar answers says what encoding/json says.
func TestScalarSeriesJSON(t *testing.T) {
	tests := []struct {
		name string
		sr   ScalarSeries
	}{
		{"empty", ScalarSeries{Points: []web.Triple{}, Envelope: []web.Triple{}, NonFinite: []web.Triple{}}},
		{"named", ScalarSeries{Run: `a "run"/<x>`, Tag: "loss/ü", Points: []web.Triple{{1.5e9, 0, 0.25}, {1.5e9 + 1, 1e6, -3e-9}},
			Envelope: []web.Triple{{0, -1, 1}}, NonFinite: []web.Triple{{1, 2, math.NaN()}, {1, 3, math.Inf(1)}, {1, 4, math.Inf(-1)}},
			Stats: ScalarStats{Count: 5, NonFinite: 3, Min: -1, Max: 1, First: 0.25, Last: web.Float(math.NaN())}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.sr)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.sr.AppendJSON(nil)
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
