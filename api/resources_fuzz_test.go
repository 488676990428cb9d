package api

import (
	"reflect"
	"testing"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/.

// FuzzParseResources checks that ParseResources never panics, returns only
// valid, normalized resources, and that what String prints parses back to
// the same resources and prints the same again.
func FuzzParseResources(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResources(s)
		if err != nil {
			if rs != nil {
				t.Fatalf("ParseResources(%q) returned %q with error %v", s, rs, err)
			}
			return
		}
		if err := ValidateResources(rs); err != nil {
			t.Fatalf("ParseResources(%q) returned invalid resources: %v", s, err)
		}
		if again := NewResources(rs...); !reflect.DeepEqual(again, rs) {
			t.Fatalf("ParseResources(%q) is not normalized: %#v, normalized %#v", s, rs, again)
		}
		text := rs.String()
		again, err := ParseResources(text)
		if err != nil {
			t.Fatalf("ParseResources(%q) prints as %q, which does not parse: %v", s, text, err)
		}
		if !again.Equal(rs) || again.String() != text {
			t.Fatalf("ParseResources(%q) prints as %q, which parses to %q", s, text, again)
		}
	})
}

// FuzzResourcesArithmetic checks the laws of Plus, Minus, Contains and
// Equal on pairs of parsed resources, and that operands are left untouched.
func FuzzResourcesArithmetic(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		x, err1 := ParseResources(a)
		y, err2 := ParseResources(b)
		if err1 != nil || err2 != nil || nearMax(x) || nearMax(y) {
			return
		}
		xs, ys := x.String(), y.String()
		checkPlus(t, x, y)
		checkMinus(t, x, y)
		if x.String() != xs || y.String() != ys {
			t.Fatalf("operands changed: %q, %q became %q, %q", xs, ys, x, y)
		}
	})
}

// nearMax reports whether a scalar of rs is large enough for a sum to
// saturate, where the laws below do not hold.
func nearMax(rs Resources) bool {
	for _, r := range rs {
		if r.Type == SCALAR && r.Scalar.Value > MaxScalar/2 {
			return true
		}
	}
	return false
}

func checkPlus(t *testing.T, x, y Resources) {
	t.Helper()
	sum := x.Plus(y)
	if !sum.Contains(x) || !sum.Contains(y) {
		t.Fatalf("%q + %q = %q, which does not contain both", x, y, sum)
	}
	if !y.Plus(x).Equal(sum) {
		t.Fatalf("%q + %q = %q but %q + %q = %q", x, y, sum, y, x, y.Plus(x))
	}
	if !x.Contains(sum.Minus(y)) {
		t.Fatalf("(%q + %q) - %q = %q, not within %q", x, y, y, sum.Minus(y), x)
	}
	for _, name := range sum.Names() {
		if got, want := toMillis(sum.ScalarValue(name)), toMillis(x.ScalarValue(name))+toMillis(y.ScalarValue(name)); got != want {
			t.Fatalf("%q + %q: %s is %d thousandths, want %d", x, y, name, got, want)
		}
		if sum.ToUnreserved().ScalarValue(name) != sum.ScalarValue(name) {
			t.Fatalf("ToUnreserved(%q) changed the amount of %s", sum, name)
		}
	}
	if checkNameTypes(sum) == nil {
		if again, err := ParseResources(sum.String()); err != nil || !again.Equal(sum) {
			t.Fatalf("%q does not round-trip: %q, %v", sum, again, err)
		}
	}
}

func checkMinus(t *testing.T, x, y Resources) {
	t.Helper()
	diff := x.Minus(y)
	if !x.Contains(diff) {
		t.Fatalf("%q - %q = %q, not within %q", x, y, diff, x)
	}
	if !diff.Plus(y).Contains(x) {
		t.Fatalf("(%q - %q) + %q = %q, which does not contain %q", x, y, y, diff.Plus(y), x)
	}
	if x.Contains(y) && !diff.Plus(y).Equal(x) {
		t.Fatalf("%q contains %q but (x - y) + y = %q", x, y, diff.Plus(y))
	}
	if !x.Equal(x) || !x.Contains(x) || !x.Minus(x).Empty() {
		t.Fatalf("%q is not equal to itself", x)
	}
}

// FuzzParseAttributes checks that ParseAttributes never panics and that
// FormatAttributes prints what parses back to the same attributes.
func FuzzParseAttributes(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		attrs, err := ParseAttributes(s)
		if err != nil {
			return
		}
		text := FormatAttributes(attrs)
		again, err := ParseAttributes(text)
		if err != nil || !reflect.DeepEqual(again, attrs) {
			t.Fatalf("ParseAttributes(%q) prints as %q, which parses to %s, %v; want %s",
				s, text, jsonText(again), err, jsonText(attrs))
		}
	})
}
