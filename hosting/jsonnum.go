package hosting

import (
	"encoding/json"
	"math"
	"strconv"
)

// Float is a float64 that marshals to JSON as a number, or as the strings
// "NaN", "Infinity" and "-Infinity" that TensorBoard's API uses for
// non-finite values.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(f)), nil }

// appendFloat appends v as a JSON value.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// triple is [a, b, c] as JSON, with non-finite values as strings: the
// shape of TensorBoard's [wall_time, step, value] rows and of envelope rows.
type triple [3]float64

// MarshalJSON implements json.Marshaler.
func (t triple) MarshalJSON() ([]byte, error) { return t.appendJSON(make([]byte, 0, 64)), nil }

func (t triple) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, v := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		return append(b, `""`...) // cannot happen for a string
	}
	return append(b, q...)
}
