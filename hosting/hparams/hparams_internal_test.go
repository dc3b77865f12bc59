package hparams

import (
	"encoding/json"
	"math"
	"testing"

	"tbhost/hosting/web"
)

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{32, "32.0"},
		{-2, "-2.0"},
		{0.1, "0.1"},
		{1.5, "1.5"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.25e-7, "1.25e-07"},
		{1e6, "1000000.0"},
		{123456789.125, "123456789.125"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.2345678901234567e17, "1.2345678901234566e+17"},
		{123456789012345678, "1.2345678901234568e+17"},
		{1e100, "1e+100"},
		{5e-324, "5e-324"},
		{0.30000000000000004, "0.30000000000000004"},
	}
	for _, tc := range tests {
		if got := PyFloat(tc.in); got != tc.want {
			t.Errorf("PyFloat(%v) = %q, want %q (Python's repr)", tc.in, got, tc.want)
		}
	}
}

func TestParamInfoFromValues(t *testing.T) {
	f := func(x float64) any { return web.Float(x) }
	tests := []struct {
		name   string
		values []any
		ok     bool
		want   string // the info as JSON
	}{
		{"numbers: an interval", []any{f(0.1), f(0.01), f(0.1)}, true,
			`{"name":"h","type":"float64","min":0.01,"max":0.1,"differs":true}`},
		{"one number: differs false", []any{f(3), f(3)}, true,
			`{"name":"h","type":"float64","min":3,"max":3,"differs":false}`},
		{"NaN is left out of the interval", []any{f(math.NaN()), f(2)}, true,
			`{"name":"h","type":"float64","min":2,"max":2,"differs":false}`},
		{"strings: the distinct values, sorted", []any{"sgd", "adam", "sgd"}, true,
			`{"name":"h","type":"string","values":["adam","sgd"],"differs":true}`},
		{"bools", []any{true, false}, true,
			`{"name":"h","type":"bool","values":[false,true],"differs":true}`},
		{"mixed types: strings, numbers as Python prints them", []any{f(32), "x", true, f(math.Inf(1))}, true,
			`{"name":"h","type":"string","values":["32.0","true","x"],"differs":true}`},
		{"null values are skipped", []any{nil, "a"}, true,
			`{"name":"h","type":"string","values":["a"],"differs":false}`},
		{"no typed value: no info", []any{nil, []any{}}, false, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, ok := paramInfoFromValues("h", tc.values)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			b, err := json.Marshal(info)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("info = %s, want %s", b, tc.want)
			}
		})
	}
}

func TestSessionOf(t *testing.T) {
	sessions := map[string]bool{".": true, "exp/s1": true, "exp/s2": true, "exp/s2/inner": true}
	tests := []struct {
		run, want string
		ok        bool
	}{
		{"exp/s1", "exp/s1", true},
		{"exp/s2/eval", "exp/s2", true},
		{"exp/s2/inner/x", "exp/s2/inner", true},
		{".", ".", true},
		{"eval", "", false}, // the root session is the parent of no run
		{"exp/no-session", "", false},
		{"exp", "", false},
	}
	for _, tc := range tests {
		got, ok := sessionOf(tc.run, sessions)
		if got != tc.want || ok != tc.ok {
			t.Errorf("sessionOf(%q) = %q, %v; want %q, %v", tc.run, got, ok, tc.want, tc.ok)
		}
	}
}
