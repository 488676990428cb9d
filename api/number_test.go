package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestNumberUnmarshal(t *testing.T) {
	const unset = 7 // the value a target holds before decoding
	tests := []struct {
		name    string
		kind    string // "float", "int" or "uint"
		in      string
		want    float64
		wantErr bool
	}{
		{name: "double exponent", kind: "float", in: `3.6e+06`, want: 3.6e6},
		{name: "double string", kind: "float", in: `"42"`, want: 42},
		{name: "double infinity", kind: "float", in: `"Infinity"`, want: math.Inf(1)},
		{name: "double minus infinity", kind: "float", in: `"-Infinity"`, want: math.Inf(-1)},
		{name: "double null leaves unset", kind: "float", in: `null`, want: unset},
		{name: "double garbage", kind: "float", in: `"abc"`, wantErr: true},
		{name: "double overflow", kind: "float", in: `1e400`, wantErr: true},
		{name: "double bool", kind: "float", in: `true`, wantErr: true},
		{name: "int exponent", kind: "int", in: `3.6e+06`, want: 3600000},
		{name: "int string", kind: "int", in: `"42"`, want: 42},
		{name: "int negative", kind: "int", in: `-5`, want: -5},
		{name: "int null leaves unset", kind: "int", in: `null`, want: unset},
		{name: "int fraction fails", kind: "int", in: `1.5`, wantErr: true},
		{name: "int infinity fails", kind: "int", in: `"Infinity"`, wantErr: true},
		{name: "int overflow fails", kind: "int", in: `1e19`, wantErr: true},
		{name: "uint exponent", kind: "uint", in: `3.6e+06`, want: 3600000},
		{name: "uint string", kind: "uint", in: `"42"`, want: 42},
		{name: "uint null leaves unset", kind: "uint", in: `null`, want: unset},
		{name: "uint negative fails", kind: "uint", in: `-1`, wantErr: true},
		{name: "uint fraction fails", kind: "uint", in: `0.5`, wantErr: true},
		{name: "uint object fails", kind: "uint", in: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeNumber(tt.kind, tt.in, unset)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoding %s as %s: got %v, want an error", tt.in, tt.kind, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decoding %s as %s: %v", tt.in, tt.kind, err)
			}
			if got != tt.want {
				t.Errorf("decoding %s as %s: got %v, want %v", tt.in, tt.kind, got, tt.want)
			}
		})
	}
}

// decodeNumber decodes in as a field of the given kind that held unset,
// through a struct as on the wire, and returns the result as a float64.
func decodeNumber(kind, in string, unset float64) (float64, error) {
	doc := []byte(`{"v":` + in + `}`)
	switch kind {
	case "float":
		v := struct{ V Float64 }{Float64(unset)}
		err := json.Unmarshal(doc, &v)
		return float64(v.V), err
	case "int":
		v := struct{ V Int64 }{Int64(unset)}
		err := json.Unmarshal(doc, &v)
		return float64(v.V), err
	default:
		v := struct{ V Uint64 }{Uint64(unset)}
		err := json.Unmarshal(doc, &v)
		return float64(v.V), err
	}
}

func TestNumberMarshal(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"integral double keeps .0", Float64(4), `4.0`},
		{"fractional double", Float64(0.5), `0.5`},
		{"large double", Float64(1e21), `1e+21`},
		{"negative zero", Float64(math.Copysign(0, -1)), `-0.0`},
		{"infinity", Float64(math.Inf(1)), `"Infinity"`},
		{"minus infinity", Float64(math.Inf(-1)), `"-Infinity"`},
		{"NaN", Float64(math.NaN()), `"NaN"`},
		{"int64", Int64(-3), `-3`},
		{"uint64 max", Uint64(math.MaxUint64), `18446744073709551615`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestFloat64AppendJSON checks AppendJSON against what MarshalJSON
// returned when it went through json.Marshal, over special and random
// values.
func TestFloat64AppendJSON(t *testing.T) {
	old := func(v float64) string {
		switch {
		case math.IsInf(v, 1):
			return `"Infinity"`
		case math.IsInf(v, -1):
			return `"-Infinity"`
		case math.IsNaN(v):
			return `"NaN"`
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.ContainsAny(b, ".eE") {
			b = append(b, '.', '0')
		}
		return string(b)
	}
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 4, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.2e22, -1e21,
		1795488750.670698, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		vals = append(vals, math.Float64frombits(rng.Uint64()), rng.Float64()*1e10, float64(rng.Int64N(1e12)))
	}
	for _, v := range vals {
		got, err := Float64(v).MarshalJSON()
		if err != nil || string(got) != old(v) {
			t.Errorf("Float64(%v).MarshalJSON() = %s, %v; want %s", v, got, err, old(v))
		}
	}
}
