package web

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
func (f Float) MarshalJSON() ([]byte, error) { return AppendFloat(nil, float64(f)), nil }

// AppendFloat appends v as a JSON value.
func AppendFloat(b []byte, v float64) []byte {
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

// Triple is [a, b, c] as JSON, with non-finite values as strings: the
// shape of TensorBoard's [wall_time, step, value] rows and of envelope rows.
type Triple [3]float64

// MarshalJSON implements json.Marshaler.
func (t Triple) MarshalJSON() ([]byte, error) { return t.AppendJSON(make([]byte, 0, 64)), nil }

func (t Triple) AppendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, v := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendFloat(b, v)
	}
	return append(b, ']')
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		return append(b, `""`...) // cannot happen for a string
	}
	return append(b, q...)
}

// Floats converts values to Floats.
func Floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// Triples converts rows to Triples.
func Triples(rows [][3]float64) []Triple {
	out := make([]Triple, len(rows))
	for i, r := range rows {
		out[i] = Triple(r)
	}
	return out
}
