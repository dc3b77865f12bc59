package engine

import (
	"math"
	"reflect"
	"testing"

	"tbhost/hosting/hostingpb"
)

// A PR curve reads as TensorBoard's pr_curves plugin gives it, in both
// APIs: counts truncated, trailing thresholds with no predicted positive
// dropped (the first kept).
func TestPRCurve(t *testing.T) {
	curve := func(rows ...[]float64) Item {
		var f []float64
		for _, r := range rows {
			f = append(f, r...)
		}
		return Item{Item: &hostingpb.Item{Floats: f}}
	}
	tests := []struct {
		name string
		in   Item
		want PRCurve
	}{
		{"trailing empty thresholds dropped",
			curve([]float64{10, 6.7, 0, 0}, []float64{5, 2, 0.4, 0}, []float64{0, 3, 5, 5}, []float64{0, 4, 10, 10},
				[]float64{0.66, 0.77, 0, 0}, []float64{1, 0.6, 0, 0}),
			PRCurve{TP: []float64{10, 6}, FP: []float64{5, 2}, TN: []float64{0, 3}, FN: []float64{0, 4},
				Precision: []float64{0.66, 0.77}, Recall: []float64{1, 0.6}, Thresholds: []float64{0, 1.0 / 3}}},
		{"the first threshold is kept",
			curve([]float64{0, 0}, []float64{0, 0}, []float64{5, 5}, []float64{5, 5}, []float64{0, 0}, []float64{0, 0}),
			PRCurve{TP: []float64{0}, FP: []float64{0}, TN: []float64{5}, FN: []float64{5}, Precision: []float64{0}, Recall: []float64{0}, Thresholds: []float64{0}}},
		{"non-finite counts stay",
			curve([]float64{math.Inf(1)}, []float64{1}, []float64{0}, []float64{0}, []float64{1}, []float64{1}),
			PRCurve{TP: []float64{math.Inf(1)}, FP: []float64{1}, TN: []float64{0}, FN: []float64{0}, Precision: []float64{1}, Recall: []float64{1}, Thresholds: []float64{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.PRCurve(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
