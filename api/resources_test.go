package api

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// parse is ParseResources for inputs a test knows to be valid.
func parse(t *testing.T, s string) Resources {
	t.Helper()
	rs, err := ParseResources(s)
	if err != nil {
		t.Fatalf("ParseResources(%q): %v", s, err)
	}
	return rs
}

// reserved returns r reserved for roles, outermost first, in the
// post-refinement form; the first level is STATIC, the rest DYNAMIC.
func reserved(r Resource, roles ...string) Resource {
	for i, role := range roles {
		typ := ReservationDynamic
		if i == 0 {
			typ = ReservationStatic
		}
		r.Reservations = append(r.Reservations, ReservationInfo{Type: typ, Role: role})
	}
	return r
}

func volume(id string, size float64) Resource {
	r := ScalarResource("disk", size)
	r.Disk = &DiskInfo{Persistence: &DiskPersistence{ID: id}}
	return r
}

func TestScalarFixedPoint(t *testing.T) {
	tests := []struct {
		name string
		got  func() float64
		want float64
	}{
		{"0.1 plus 0.2 is 0.3", func() float64 {
			return Resources{ScalarResource("cpus", 0.1)}.Plus(Resources{ScalarResource("cpus", 0.2)}).ScalarValue("cpus")
		}, 0.3},
		{"1 minus 0.9 is 0.1", func() float64 {
			return Resources{ScalarResource("cpus", 1)}.Minus(Resources{ScalarResource("cpus", 0.9)}).ScalarValue("cpus")
		}, 0.1},
		{"ten times 0.1 is 1", func() float64 {
			var rs Resources
			for range 10 {
				rs.Add(ScalarResource("cpus", 0.1))
			}
			return rs.ScalarValue("cpus")
		}, 1},
		{"rounds down below half a thousandth", func() float64 {
			return NewResources(ScalarResource("mem", 0.1234)).ScalarValue("mem")
		}, 0.123},
		{"rounds up above half a thousandth", func() float64 {
			return NewResources(ScalarResource("mem", 0.1236)).ScalarValue("mem")
		}, 0.124},
		{"half a thousandth rounds away from zero", func() float64 {
			return NewResources(ScalarResource("mem", 0.0005)).ScalarValue("mem")
		}, 0.001},
		{"sums across roles", func() float64 {
			return parse(t, "cpus:1;cpus(web):0.25;cpus(db):0.125").ScalarValue("cpus")
		}, 1.375},
		{"sums saturate at MaxScalar", func() float64 {
			return NewResources(ScalarResource("disk", MaxScalar), ScalarResource("disk", MaxScalar)).ScalarValue("disk")
		}, MaxScalar},
		{"absent is zero", func() float64 { return parse(t, "mem:1").ScalarValue("cpus") }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got(); got != tt.want {
				t.Errorf("got %v, want exactly %v", got, tt.want)
			}
		})
	}
}

func TestPlus(t *testing.T) {
	tests := []struct {
		name    string
		a, b    string
		want    string
		wantLen int
	}{
		{"scalars merge", "cpus:1;mem:128", "cpus:0.5", "cpus:1.5;mem:128", 2},
		{"roles stay apart", "cpus:1", "cpus(web):1", "cpus:1;cpus(web):1", 2},
		{"same role merges", "cpus(web):1", "cpus(web):2", "cpus(web):3", 1},
		{"adjacent ranges coalesce", "ports:[1-5]", "ports:[6-10,20-30]", "ports:[1-10,20-30]", 1},
		{"overlapping ranges coalesce", "ports:[1-5]", "ports:[3-8]", "ports:[1-8]", 1},
		{"range at the top of uint64", "ports:[18446744073709551615-18446744073709551615]", "ports:[0-18446744073709551614]", "ports:[0-18446744073709551615]", 1},
		{"sets unite", "gpus:{a,b}", "gpus:{b,c}", "gpus:{a,b,c}", 1},
		{"empty plus something", "", "cpus:1", "cpus:1", 1},
		{"something plus empty", "mem:2", "", "mem:2", 1},
		{"saturates", "cpus:1000000000000", "cpus:1", "cpus:1000000000000", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(t, tt.a).Plus(parse(t, tt.b))
			if got.String() != tt.want || len(got) != tt.wantLen {
				t.Errorf("%q + %q = %q (%d resources), want %q (%d)", tt.a, tt.b, got, len(got), tt.want, tt.wantLen)
			}
		})
	}
}

func TestMinus(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{"scalar", "cpus:2", "cpus:0.5", "cpus:1.5"},
		{"more than present clamps", "cpus:1;mem:5", "cpus:2", "mem:5"},
		{"all of it removes", "cpus:1;mem:5", "cpus:1", "mem:5"},
		{"range split", "ports:[1-10]", "ports:[4-6]", "ports:[1-3,7-10]"},
		{"ranges split many ways", "ports:[1-10,20-30]", "ports:[0-2,9-21,30-40]", "ports:[3-8,22-29]"},
		{"range edges", "ports:[0-18446744073709551615]", "ports:[0-0,18446744073709551615-18446744073709551615]", "ports:[1-18446744073709551614]"},
		{"range not held is ignored", "ports:[1-5]", "ports:[10-20]", "ports:[1-5]"},
		{"range taken whole", "ports:[1-5]", "ports:[0-9]", ""},
		{"set difference", "gpus:{a,b,c}", "gpus:{b,d}", "gpus:{a,c}"},
		{"same role only", "cpus:2;cpus(web):2", "cpus(web):1", "cpus:2;cpus(web):1"},
		{"other role ignored", "cpus:2", "cpus(web):1", "cpus:2"},
		{"other name ignored", "cpus:2", "mem:1", "cpus:2"},
		{"nothing from nothing", "", "cpus:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parse(t, tt.a).Minus(parse(t, tt.b)).String(); got != tt.want {
				t.Errorf("%q - %q = %q, want %q", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"less", "cpus:2;mem:1024", "cpus:1.5", true},
		{"equal", "cpus:2;mem:1024", "mem:1024;cpus:2", true},
		{"a thousandth more", "cpus:1", "cpus:1.001", false},
		{"fixed point sum", "cpus:0.1;cpus:0.2", "cpus:0.3", true},
		{"missing name", "cpus:1", "mem:1", false},
		{"subranges", "ports:[1-10]", "ports:[2-3,5-9]", true},
		{"range sticks out", "ports:[1-10]", "ports:[9-11]", false},
		{"range across a gap", "ports:[1-5,7-10]", "ports:[4-8]", false},
		{"subset", "gpus:{a,b,c}", "gpus:{c,a}", true},
		{"not a subset", "gpus:{a,b}", "gpus:{b,c}", false},
		{"reserved does not give unreserved", "cpus(web):4", "cpus:1", false},
		{"unreserved does not give reserved", "cpus:4", "cpus(web):1", false},
		{"right role", "cpus:1;cpus(web):4", "cpus(web):4;cpus:1", true},
		{"empty in anything", "cpus:1", "", true},
		{"empty in empty", "", "", true},
		{"something in empty", "", "cpus:0.001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parse(t, tt.a).Contains(parse(t, tt.b)); got != tt.want {
				t.Errorf("%q contains %q = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestContainsRefusesInvalid(t *testing.T) {
	have := parse(t, "cpus:4")
	for _, r := range []Resource{
		ScalarResource("cpus", -1),
		ScalarResource("cpus", math.NaN()),
		{Name: "cpus", Type: SCALAR},
	} {
		if have.Contains(Resources{r}) {
			t.Errorf("%q contains invalid %q", have, r)
		}
	}
}

func TestEqual(t *testing.T) {
	dynamicPre := ScalarResource("cpus", 1)
	dynamicPre.Role, dynamicPre.Reservation = "web", &ReservationInfo{Principal: "alice"}
	dynamicPost := ScalarResource("cpus", 1)
	dynamicPost.Reservations = []ReservationInfo{{Type: ReservationDynamic, Role: "web", Principal: "alice"}}
	labelled := func(labels ...Label) Resource {
		r := ScalarResource("cpus", 1)
		r.Reservations = []ReservationInfo{{Type: ReservationDynamic, Role: "web", Labels: &Labels{Labels: labels}}}
		return r
	}
	static := ScalarResource("cpus", 1)
	static.Role = "web"
	star := ScalarResource("cpus", 1)
	star.Role = "*"
	tests := []struct {
		name string
		a, b Resources
		want bool
	}{
		{"order and split do not matter", parse(t, "cpus:1;cpus:1;mem:2"), parse(t, "mem:2;cpus:2"), true},
		{"value matters", parse(t, "cpus:1"), parse(t, "cpus:1.001"), false},
		{"pre-refinement static role", Resources{static}, Resources{reserved(ScalarResource("cpus", 1), "web")}, true},
		{"role star is unreserved", Resources{star}, Resources{ScalarResource("cpus", 1)}, true},
		{"pre-refinement dynamic", Resources{dynamicPre}, Resources{dynamicPost}, true},
		{"static is not dynamic", Resources{static}, Resources{dynamicPost}, false},
		{"labels in any order", Resources{labelled(Label{Key: "a"}, Label{Key: "b", Value: "1"})},
			Resources{labelled(Label{Key: "b", Value: "1"}, Label{Key: "a"})}, true},
		{"labels differ", Resources{labelled(Label{Key: "a"})}, Resources{labelled(Label{Key: "b"})}, false},
		{"invalid ignored", Resources{ScalarResource("cpus", -1)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.want {
				t.Errorf("%q equal %q = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestKinds checks which resources merge: the count of resources left after
// adding two of them.
func TestKinds(t *testing.T) {
	cpus := func(change func(*Resource)) Resource {
		r := ScalarResource("cpus", 1)
		change(&r)
		return r
	}
	disk := func(typ, root, id string) Resource {
		r := ScalarResource("disk", 10)
		r.Disk = &DiskInfo{Source: &DiskSource{Type: typ, ID: id}}
		if root != "" {
			r.Disk.Source.Mount = &DiskPath{Root: root}
		}
		return r
	}
	tests := []struct {
		name string
		a, b Resource
		want int
	}{
		{"same", cpus(func(*Resource) {}), cpus(func(*Resource) {}), 1},
		{"allocation differs", cpus(func(r *Resource) { r.AllocationInfo = &AllocationInfo{Role: "web"} }), cpus(func(*Resource) {}), 2},
		{"empty allocation is none", cpus(func(r *Resource) { r.AllocationInfo = &AllocationInfo{} }), cpus(func(*Resource) {}), 1},
		{"revocable differs", cpus(func(r *Resource) { r.Revocable = &RevocableInfo{} }), cpus(func(*Resource) {}), 2},
		{"provider differs", cpus(func(r *Resource) { r.ProviderID = &ResourceProviderID{Value: "p"} }), cpus(func(*Resource) {}), 2},
		{"refined differs", reserved(ScalarResource("cpus", 1), "eng", "eng/web"), reserved(ScalarResource("cpus", 1), "eng"), 2},
		{"refined same", reserved(ScalarResource("cpus", 1), "eng", "eng/web"), reserved(ScalarResource("cpus", 1), "eng", "eng/web"), 1},
		{"volumes never merge", volume("v1", 10), volume("v1", 10), 2},
		{"volumes differ", volume("v1", 10), volume("v2", 10), 2},
		{"volume is not plain disk", volume("v1", 10), ScalarResource("disk", 10), 2},
		{"path disks merge", disk("PATH", "", ""), disk("PATH", "", ""), 1},
		{"mount disks never merge", disk("MOUNT", "/a", ""), disk("MOUNT", "/a", ""), 2},
		{"raw without id merges", disk("RAW", "", ""), disk("RAW", "", ""), 1},
		{"raw with id never merges", disk("RAW", "", "x"), disk("RAW", "", "x"), 2},
		{"type differs", ScalarResource("x", 1), SetResource("x", "a"), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateResources([]Resource{tt.a, tt.b}); err != nil {
				t.Fatal(err)
			}
			if got := NewResources(tt.a, tt.b); len(got) != tt.want {
				t.Errorf("%q + %q has %d resources, want %d", tt.a, tt.b, len(got), tt.want)
			}
		})
	}
}

func TestIndivisibleDisks(t *testing.T) {
	mount := ScalarResource("disk", 100)
	mount.Disk = &DiskInfo{Source: &DiskSource{Type: "MOUNT", Mount: &DiskPath{Root: "/mnt/a"}}}
	half := mount
	half.Scalar = &Scalar{Value: 50}
	have := Resources{mount}
	if have.Contains(Resources{half}) {
		t.Errorf("%q contains half of itself", have)
	}
	if got := have.Minus(Resources{half}); !got.Equal(have) {
		t.Errorf("%q - %q = %q, want it unchanged", have, half, got)
	}
	if got := have.Minus(have); !got.Empty() {
		t.Errorf("%q - itself = %q", have, got)
	}
}

func TestShared(t *testing.T) {
	vol := volume("v1", 100)
	vol.Shared = &SharedInfo{}
	one := Resources{vol}
	two := NewResources(vol, vol)
	if len(two) != 2 {
		t.Fatalf("two uses of a shared volume are %d resources, want 2", len(two))
	}
	if got := two.ScalarValue("disk"); got != 100 {
		t.Errorf("ScalarValue of a volume used twice = %v, want 100", got)
	}
	if !two.Contains(one) || !two.Contains(two) || one.Contains(two) {
		t.Error("Contains does not count uses of a shared volume")
	}
	if got := two.Minus(one); !got.Equal(one) {
		t.Errorf("two uses minus one = %q, want %q", got, one)
	}
	smaller := volume("v1", 50)
	smaller.Shared = &SharedInfo{}
	if one.Contains(Resources{smaller}) {
		t.Error("a shared volume contains a smaller copy of itself")
	}
}

func TestFlatten(t *testing.T) {
	mixed := parse(t, "cpus:1;cpus(web):2;cpus(db):3;mem(db):64")
	tests := []struct {
		name string
		got  Resources
		want string
	}{
		{"to a role", mixed.Flatten("web"), "cpus(web):6;mem(web):64"},
		{"to star", mixed.Flatten("*"), "cpus:6;mem:64"},
		{"to empty", mixed.Flatten(""), "cpus:6;mem:64"},
		{"to unreserved", mixed.ToUnreserved(), "cpus:6;mem:64"},
		{"refined stack", Resources{reserved(ScalarResource("cpus", 1), "eng", "eng/web")}.Flatten("ops"), "cpus(ops):1"},
		{"keeps allocation", mixed.Allocate("web").Flatten("*"), "cpus(allocated: web):6;mem(allocated: web):64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.String() != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	pre := ScalarResource("cpus", 1)
	pre.Role, pre.Reservation = "web", &ReservationInfo{Principal: "p"}
	got := Resources{pre}.Flatten("db")[0]
	if got.Role != "" || got.Reservation != nil || len(got.Reservations) != 1 {
		t.Errorf("Flatten left the pre-refinement form: %+v", got)
	}
}

func TestAllocate(t *testing.T) {
	rs := parse(t, "cpus:1;mem(web):2")
	got := rs.Allocate("web")
	for _, r := range got {
		if r.AllocationInfo == nil || r.AllocationInfo.Role != "web" {
			t.Errorf("%q not allocated to web", r)
		}
	}
	if rs.Contains(got) || got.Contains(rs) {
		t.Error("allocated resources are the same kind as unallocated ones")
	}
	if back := got.Unallocated(); !back.Equal(rs) {
		t.Errorf("Unallocated = %q, want %q", back, rs)
	}
	if by := got.Allocations(); len(by) != 1 || !by["web"].Equal(got) {
		t.Errorf("Allocations = %v", by)
	}
	if by := rs.Allocations(); len(by) != 0 {
		t.Errorf("Allocations of unallocated resources = %v", by)
	}
}

func TestRoleViews(t *testing.T) {
	rs := parse(t, "cpus:1;cpus(eng):2;cpus(web):3;mem(web):4")
	rs.Add(reserved(ScalarResource("cpus", 5), "eng", "eng/ml"))
	tests := []struct {
		name string
		got  Resources
		want string
	}{
		{"unreserved", rs.Unreserved(), "cpus:1"},
		{"reserved for web", rs.Reserved("web"), "cpus(web):3;mem(web):4"},
		{"reserved for the refined role", rs.Reserved("eng/ml"), "cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/ml)]):5"},
		{"all reserved", rs.Reserved(""), "cpus(eng):2;cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/ml)]):5;cpus(web):3;mem(web):4"},
		{"allocatable to a sub-role", rs.AllocatableTo("eng/ml"), "cpus:1;cpus(eng):2;cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/ml)]):5"},
		{"allocatable to an unrelated role", rs.AllocatableTo("engine"), "cpus:1"},
		{"named", rs.Named("mem"), "mem(web):4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.String() != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	by := rs.Reservations()
	if len(by) != 3 || by["web"].String() != "cpus(web):3;mem(web):4" || by["eng"].String() != "cpus(eng):2" {
		t.Errorf("Reservations = %v", by)
	}
}

func TestQuantityViews(t *testing.T) {
	rs := parse(t, "cpus:1;ports:[1-5];ports(web):[6-9,20-20];gpus:{b};gpus(web):{a,b}")
	if got, want := rs.Ranges("ports"), (Ranges{Range: []Range{{1, 9}, {20, 20}}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Ranges = %v, want %v", got, want)
	}
	if got := rs.Ranges("none"); len(got.Range) != 0 {
		t.Errorf("Ranges of nothing = %v", got)
	}
	if got, want := rs.Items("gpus"), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Items = %v, want %v", got, want)
	}
	if got, want := rs.Names(), []string{"cpus", "gpus", "ports"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if !(Resources{ScalarResource("cpus", 0), ScalarResource("cpus", -1)}).Empty() || rs.Empty() {
		t.Error("Empty is wrong")
	}
}

// TestNoAliasing checks that operations leave their operands, and the
// message fields they may have been converted from, untouched.
func TestNoAliasing(t *testing.T) {
	field := []Resource{
		ScalarResource("cpus", 1), ScalarResource("cpus", 2),
		RangesResource("ports", Range{5, 9}, Range{1, 3}), SetResource("gpus", "b", "a"),
	}
	other := parse(t, "cpus:1;ports:[2-6];gpus:{a}")
	before, otherBefore := deepCopy(t, field), deepCopy(t, other)
	rs := Resources(field)
	_ = rs.Plus(other)
	_ = rs.Minus(other)
	_ = rs.Contains(other)
	_ = rs.Equal(other)
	_ = rs.Flatten("web").Allocate("web").Unallocated()
	_ = rs.Sorted()
	_ = rs.String()
	rs.Add(other...)
	rs.Subtract(other...)
	if !reflect.DeepEqual(deepCopy(t, field), before) || !reflect.DeepEqual(deepCopy(t, other), otherBefore) {
		t.Error("an operation modified its operands")
	}
}

func deepCopy[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateResource(t *testing.T) {
	with := func(r Resource, change func(*Resource)) Resource {
		change(&r)
		return r
	}
	cpus := ScalarResource("cpus", 1)
	tests := []struct {
		name    string
		r       Resource
		wantErr string // "" when valid
	}{
		{"scalar", cpus, ""},
		{"zero", ScalarResource("cpus", 0), ""},
		{"ranges", RangesResource("ports", Range{1, 2}, Range{4, 4}), ""},
		{"set", SetResource("gpus", "a", "b"), ""},
		{"static", reserved(cpus, "web"), ""},
		{"refined", reserved(cpus, "eng", "eng/web", "eng/web/x"), ""},
		{"pre-refinement dynamic", with(cpus, func(r *Resource) { r.Role, r.Reservation = "web", &ReservationInfo{Principal: "p"} }), ""},
		{"both forms agree", with(reserved(cpus, "web"), func(r *Resource) { r.Role = "web" }), ""},
		{"persistent volume", volume("v", 1), ""},
		{"shared volume", with(volume("v", 1), func(r *Resource) { r.Shared = &SharedInfo{} }), ""},
		{"allocated to star", with(cpus, func(r *Resource) { r.AllocationInfo = &AllocationInfo{Role: "*"} }), ""},
		{"no name", ScalarResource("", 1), "the name is empty"},
		{"negative", ScalarResource("cpus", -1), "the scalar -1 is negative"},
		{"NaN", ScalarResource("cpus", math.NaN()), "NaN"},
		{"infinite", ScalarResource("cpus", math.Inf(1)), "infinite"},
		{"too big", ScalarResource("cpus", 2e12), "above the maximum"},
		{"rounds to zero", ScalarResource("cpus", 0.0004), "rounds to zero"},
		{"no type", with(cpus, func(r *Resource) { r.Type = "" }), `type "" is not SCALAR`},
		{"text", Resource{Name: "x", Type: TEXT}, `type "TEXT" is not SCALAR`},
		{"scalar without scalar", Resource{Name: "cpus", Type: SCALAR}, "type SCALAR needs a scalar"},
		{"scalar with ranges", with(cpus, func(r *Resource) { r.Ranges = &Ranges{} }), "type SCALAR needs a scalar and no ranges"},
		{"ranges without ranges", Resource{Name: "ports", Type: RANGES}, "type RANGES needs ranges"},
		{"set with scalar", with(SetResource("gpus"), func(r *Resource) { r.Scalar = &Scalar{} }), "type SET needs a set and no scalar"},
		{"inverted range", RangesResource("ports", Range{5, 1}), "range 5-1 begins after it ends"},
		{"overlapping ranges", RangesResource("ports", Range{10, 20}, Range{1, 10}), "ranges 1-10 and 10-20 overlap"},
		{"duplicate item", SetResource("gpus", "a", "b", "a"), `set item "a" appears twice`},
		{"disk info on cpus", with(cpus, func(r *Resource) { r.Disk = &DiskInfo{} }), `not "cpus"`},
		{"unknown disk source", with(ScalarResource("disk", 1), func(r *Resource) { r.Disk = &DiskInfo{Source: &DiskSource{Type: "TAPE"}} }), `"TAPE"`},
		{"raw disk with path", with(ScalarResource("disk", 1), func(r *Resource) {
			r.Disk = &DiskInfo{Source: &DiskSource{Type: "RAW", Path: &DiskPath{}}}
		}), "RAW disk source must not have"},
		{"bad role", with(cpus, func(r *Resource) { r.Role = "a b" }), `invalid role "a b"`},
		{"bad reserved role", reserved(cpus, ".."), `invalid role ".."`},
		{"star reserved", reserved(cpus, "*"), `role "*" cannot be reserved`},
		{"reservation without type", with(cpus, func(r *Resource) { r.Reservations = []ReservationInfo{{Role: "web"}} }), "no type"},
		{"reservation bad type", with(cpus, func(r *Resource) { r.Reservations = []ReservationInfo{{Type: "X", Role: "web"}} }), `"X" is not STATIC`},
		{"reservation without role", with(cpus, func(r *Resource) { r.Reservations = []ReservationInfo{{Type: ReservationStatic}} }), "no role"},
		{"static refinement", with(reserved(cpus, "eng"), func(r *Resource) {
			r.Reservations = append(r.Reservations, ReservationInfo{Type: ReservationStatic, Role: "eng/web"})
		}), "cannot be STATIC"},
		{"not a refinement", reserved(cpus, "eng", "engine"), `"engine" is not a refinement of "eng"`},
		{"pre-refinement reservation of star", with(cpus, func(r *Resource) { r.Reservation = &ReservationInfo{} }), "unreserved resource"},
		{"pre-refinement reservation with type", with(cpus, func(r *Resource) {
			r.Role, r.Reservation = "web", &ReservationInfo{Type: ReservationDynamic}
		}), "must not set a type"},
		{"forms disagree on role", with(reserved(cpus, "web"), func(r *Resource) { r.Role = "db" }), `role "db" does not match`},
		{"star beside a reservation", with(reserved(cpus, "web"), func(r *Resource) { r.Role = "*" }), `role "*" does not match`},
		{"role beside a stack", with(reserved(cpus, "eng", "eng/web"), func(r *Resource) { r.Role = "eng" }), "more than one reservation"},
		{"reservation beside static", with(reserved(cpus, "web"), func(r *Resource) { r.Reservation = &ReservationInfo{} }), "beside a STATIC"},
		{"forms disagree on principal", with(cpus, func(r *Resource) {
			r.Role, r.Reservation = "web", &ReservationInfo{Principal: "a"}
			r.Reservations = []ReservationInfo{{Type: ReservationDynamic, Role: "web", Principal: "b"}}
		}), "does not match the principal"},
		{"bad allocation role", with(cpus, func(r *Resource) { r.AllocationInfo = &AllocationInfo{Role: "-x"} }), "starts with a dash"},
		{"shared cpus", with(cpus, func(r *Resource) { r.Shared = &SharedInfo{} }), `only disk resources can be shared, not "cpus"`},
		{"shared plain disk", with(ScalarResource("disk", 1), func(r *Resource) { r.Shared = &SharedInfo{} }), "only persistent volumes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateResource(tt.r)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidateResource: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("ValidateResource(%q) = nil, want %q", tt.r, tt.wantErr)
			case err != nil && (!strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), `invalid resource "`+tt.r.Name)):
				t.Errorf("ValidateResource = %q, want it to name the resource and say %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateResourcesNamesIndex(t *testing.T) {
	err := ValidateResources([]Resource{ScalarResource("cpus", 1), ScalarResource("mem", -5)})
	if want := `invalid resource 1 "mem:-5": the scalar -5 is negative`; err == nil || err.Error() != want {
		t.Errorf("ValidateResources = %v, want %q", err, want)
	}
}

func TestValidateRole(t *testing.T) {
	tests := []struct {
		role    string
		wantErr string
	}{
		{"*", ""}, {"web", ""}, {"eng/web", ""}, {"a.b", ""}, {"a-b", ""}, {"..a", ""}, {"a*", ""}, {"ünï", ""},
		{"", "must not be empty"},
		{".", `"." as a component`},
		{"..", `".." as a component`},
		{"a/./b", `"." as a component`},
		{"a/*", `"*" as a component`},
		{"-a", `component "-a" starts with a dash`},
		{"a/-b", `component "-b" starts with a dash`},
		{"/a", "starts with a slash"},
		{"a/", "ends with a slash"},
		{"a//b", "two adjacent slashes"},
		{"a b", "whitespace"},
		{"a\tb", "whitespace"},
		{"a\x7fb", "control character"},
		{"a\x00", "control character"},
		{"a\u00a0b", "whitespace"},
		{"\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.role), func(t *testing.T) {
			err := ValidateRole(tt.role)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidateRole: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ValidateRole = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseResources(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // String of the result
	}{
		{"agent flag", "cpus:4;mem:8192;disk:30000;ports:[31000-32000]", "cpus:4;disk:30000;mem:8192;ports:[31000-32000]"},
		{"roles", "cpus(web):2;mem(web):1024", "cpus(web):2;mem(web):1024"},
		{"star is unreserved", "cpus(*):2", "cpus:2"},
		{"nested role", "cpus(eng/web):2", "cpus(eng/web):2"},
		{"sets", "gpus:{b, a}", "gpus:{a,b}"},
		{"ranges", "ports:[21-22,31000-32000]", "ports:[21-22,31000-32000]"},
		{"ranges sorted and coalesced", "ports:[31000-32000, 21-22, 23-23, 30-40, 35-50]", "ports:[21-23,30-50,31000-32000]"},
		{"whitespace", " cpus : 4 ;\n mem ( web ) : 1 ; ports : [ 1 - 2 ] ; ", "cpus:4;mem(web):1;ports:[1-2]"},
		{"fraction", "cpus:0.5", "cpus:0.5"},
		{"exponent", "mem:1e3", "mem:1000"},
		{"trailing zeros", "mem:1024.000", "mem:1024"},
		{"rounded to thousandths", "cpus:0.1236", "cpus:0.124"},
		{"merged", "cpus:1;cpus:2;cpus(web):1", "cpus:3;cpus(web):1"},
		{"zero dropped", "cpus:0;mem:1;ports:[];gpus:{}", "mem:1"},
		{"empty", "", ""},
		{"only separators", " ; ;", ""},
		{"big ports", "ports:[0-18446744073709551615]", "ports:[0-18446744073709551615]"},
		{"leading zeros", "ports:[007-010]", "ports:[7-10]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(t, tt.in)
			if got.String() != tt.want {
				t.Errorf("ParseResources(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := parse(t, got.String()); !again.Equal(got) || again.String() != got.String() {
				t.Errorf("%q does not round-trip: %q", got, again)
			}
		})
	}
}

func TestParseResourcesErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"no colon", "cpus:1;mem", `resource "mem": want exactly one ':'`},
		{"two colons", "cpus:1:2", `resource "cpus:1:2": want exactly one ':'`},
		{"no name", ":1", `resource ":1": the name is empty`},
		{"no value", "cpus:", `resource "cpus:": the value is empty`},
		{"unclosed role", "cpus(web:1", "mismatched parentheses"},
		{"reversed parentheses", "cpus)web(:1", "mismatched parentheses"},
		{"text after role", "cpus(web)x:1", `unexpected "x" after the role`},
		{"empty role", "cpus( ):1", "the role in parentheses is empty"},
		{"invalid role", "cpus(-web):1", `invalid role "-web"`},
		{"bracket in name", "cp[u]s:1", `name "cp[u]s" contains a bracket`},
		{"text value", "cpus:four", `value "four" is not a number`},
		{"hex", "cpus:0x10", `value "0x10" is not a number`},
		{"nan", "cpus:nan", `value "nan" is not a number`},
		{"negative", "cpus:-1", "the scalar -1 is negative"},
		{"too small", "cpus:0.0001", "rounds to zero"},
		{"too large", "mem:1e13", "above the maximum"},
		{"overflow", "cpus:1e999", `value "1e999" is out of range`},
		{"unclosed ranges", "ports:[1-2", `range list "[1-2" does not end with ']'`},
		{"single port", "ports:[80]", `range "80" is not of the form begin-end`},
		{"inverted range", "ports:[5-1]", `range "5-1" begins after it ends`},
		{"signed range", "ports:[-1-5]", `range "-1-5" does not have unsigned integer bounds`},
		{"huge range", "ports:[1-18446744073709551616]", "unsigned integer bounds"},
		{"empty range item", "ports:[1-2,]", `range "" is not of the form`},
		{"nested ranges", "ports:[[1-2]]", `range "[1-2]" does not have unsigned integer bounds`},
		{"unclosed set", "gpus:{a", `set "{a" does not end with '}'`},
		{"empty set item", "gpus:{a,,b}", "has an empty item"},
		{"brace in set", "gpus:{a{b}", `set item "a{b" contains a brace`},
		{"duplicate item", "gpus:{a,b,a}", `set item "a" appears twice`},
		{"two types", "cpus:1;cpus:[1-2]", `resources named "cpus" have two types, SCALAR and RANGES`},
		{"two types across roles", "x(web):{a};x:1", `resources named "x" have two types`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResources(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseResources(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

func TestResourceString(t *testing.T) {
	pre := ScalarResource("cpus", 1)
	pre.Role, pre.Reservation = "web", &ReservationInfo{Principal: "alice", Labels: &Labels{Labels: []Label{{Key: "b", Value: "2"}, {Key: "a"}}}}
	vol := volume("v1", 64)
	vol.Disk.Source = &DiskSource{Type: "MOUNT", Mount: &DiskPath{Root: "/mnt/a"}}
	vol.Shared = &SharedInfo{}
	rev := ScalarResource("cpus", 0.5)
	rev.Revocable = &RevocableInfo{}
	tests := []struct {
		name string
		r    Resource
		want string
	}{
		{"static", reserved(ScalarResource("mem", 1024), "web"), "mem(web):1024"},
		{"dynamic", pre, "cpus(reservations: [(DYNAMIC,web,alice,{a, b: 2})]):1"},
		{"allocated", allocated(ScalarResource("cpus", 1), "web"), "cpus(allocated: web):1"},
		{"volume", vol, "disk[MOUNT:/mnt/a,v1]<SHARED>:64"},
		{"revocable", rev, "cpus{REV}:0.5"},
		{"missing value", Resource{Name: "cpus", Type: SCALAR}, "cpus:?"},
		{"text", Resource{Name: "x", Type: TEXT}, "x:?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
			if tt.r.String() != "mem(web):1024" {
				if _, err := ParseResources(tt.r.String()); err == nil {
					t.Errorf("ParseResources accepted the log form %q", tt.r)
				}
			}
		})
	}
}

func allocated(r Resource, role string) Resource {
	r.AllocationInfo = &AllocationInfo{Role: role}
	return r
}

func TestStringOrder(t *testing.T) {
	rs := Resources{
		reserved(ScalarResource("cpus", 1), "web"),
		RangesResource("ports", Range{1, 2}),
		ScalarResource("cpus", 2),
		allocated(ScalarResource("cpus", 3), "a"),
		ScalarResource("mem", 4),
		reserved(ScalarResource("cpus", 5), "db"),
	}
	want := "cpus:2;cpus(allocated: a):3;cpus(db):5;cpus(web):1;mem:4;ports:[1-2]"
	if got := rs.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := rs.Sorted().String(); got != want {
		t.Errorf("Sorted().String = %q, want %q", got, want)
	}
	if Resources(nil).String() != "" {
		t.Error("empty Resources does not print as \"\"")
	}
}

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Attribute
	}{
		{"mixed", "rack:r1;zone:a;cores:8;ports:[1-2]", []Attribute{
			{Name: "rack", Type: TEXT, Text: &Text{Value: "r1"}},
			{Name: "zone", Type: TEXT, Text: &Text{Value: "a"}},
			{Name: "cores", Type: SCALAR, Scalar: &Scalar{Value: 8}},
			{Name: "ports", Type: RANGES, Ranges: &Ranges{Range: []Range{{1, 2}}}},
		}},
		{"set and fraction", " disks : {ssd, hdd} ; weight: -0.25 ", []Attribute{
			{Name: "disks", Type: SET, Set: &Set{Item: []string{"ssd", "hdd"}}},
			{Name: "weight", Type: SCALAR, Scalar: &Scalar{Value: -0.25}},
		}},
		{"colon in value", "host:a:b", []Attribute{{Name: "host", Type: TEXT, Text: &Text{Value: "a:b"}}}},
		{"not numbers", "a:nan;b:1.2.3;c:0x10;d:rack 1", []Attribute{
			{Name: "a", Type: TEXT, Text: &Text{Value: "nan"}},
			{Name: "b", Type: TEXT, Text: &Text{Value: "1.2.3"}},
			{Name: "c", Type: TEXT, Text: &Text{Value: "0x10"}},
			{Name: "d", Type: TEXT, Text: &Text{Value: "rack 1"}},
		}},
		{"repeated name", "r:1;r:2", []Attribute{
			{Name: "r", Type: SCALAR, Scalar: &Scalar{Value: 1}},
			{Name: "r", Type: SCALAR, Scalar: &Scalar{Value: 2}},
		}},
		{"empty", " ; ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAttributes(tt.in)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseAttributes(%q) = %s, %v; want %s", tt.in, jsonText(got), err, jsonText(tt.want))
			}
			again, err := ParseAttributes(FormatAttributes(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("%q does not round-trip: %s, %v", FormatAttributes(got), jsonText(again), err)
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestParseAttributesErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"no colon", "rack", `attribute "rack": want name:value`},
		{"no name", " :x", `attribute ":x": the name is empty`},
		{"no value", "rack:1;zone: ", `attribute "zone:": the value is empty`},
		{"bad ranges", "ports:[1-", "does not end with ']'"},
		{"bad range", "ports:[a-b]", `range "a-b" does not have unsigned integer bounds`},
		{"duplicate item", "s:{a,a}", `set item "a" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAttributes(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAttributes(%q) = %v, want error %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestFormatAttributes(t *testing.T) {
	attrs := []Attribute{
		{Name: "rack", Type: TEXT, Text: &Text{Value: "r1"}},
		{Name: "cores", Type: SCALAR, Scalar: &Scalar{Value: 8}},
		{Name: "ports", Type: RANGES, Ranges: &Ranges{Range: []Range{{1, 2}, {5, 5}}}},
		{Name: "disks", Type: SET, Set: &Set{Item: []string{"ssd", "hdd"}}},
		{Name: "broken", Type: SCALAR},
	}
	if got, want := FormatAttributes(attrs), "rack:r1;cores:8;ports:[1-2,5-5];disks:{ssd,hdd};broken:?"; got != want {
		t.Errorf("FormatAttributes = %q, want %q", got, want)
	}
}

func ExampleParseResources() {
	total, err := ParseResources("cpus:4; mem:8192; cpus(web):2; ports:[31000-32000]")
	if err != nil {
		panic(err)
	}
	task, _ := ParseResources("cpus:0.1;cpus:0.2;ports:[31005-31005]")
	fmt.Println(total.Contains(task))
	fmt.Println(total.Minus(task))
	fmt.Println(total.ScalarValue("cpus"))
	// Output:
	// true
	// cpus:3.7;cpus(web):2;mem:8192;ports:[31000-31004,31006-32000]
	// 6
}

// BenchmarkOfferFit measures the allocator's hot path: does a task fit an
// offer, and what is left.
func BenchmarkOfferFit(b *testing.B) {
	offer, err := ParseResources("cpus:8;mem:32768;disk:100000;ports:[31000-31099,31200-32000];gpus:{a,b};cpus(web):4;mem(web):4096")
	if err != nil {
		b.Fatal(err)
	}
	offer = offer.Allocate("web")
	task, err := ParseResources("cpus:0.5;mem:512;ports:[31005-31005];cpus(web):1")
	if err != nil {
		b.Fatal(err)
	}
	task = task.Allocate("web")
	b.ReportAllocs()
	for b.Loop() {
		if !offer.Contains(task) {
			b.Fatal("task does not fit")
		}
		_ = offer.Minus(task)
	}
}

// BenchmarkPlus measures adding an agent's unreserved resources to a sum,
// as the master's books and metrics do for every agent.
func BenchmarkPlus(b *testing.B) {
	agent, err := ParseResources("cpus:16;mem:65536;disk:1000000;ports:[31000-32000]")
	if err != nil {
		b.Fatal(err)
	}
	var sum Resources
	b.ReportAllocs()
	for b.Loop() {
		sum = sum.Plus(agent)
	}
}

func TestSandboxDiskBytes(t *testing.T) {
	volume := ScalarResource("disk", 64)
	volume.Reservations = []ReservationInfo{{Type: ReservationDynamic, Role: "web", Principal: "p"}}
	volume.Disk = &DiskInfo{Persistence: &DiskPersistence{ID: "v1", Principal: "p"}, Volume: &Volume{ContainerPath: "data", Mode: "RW"}}
	mount := ScalarResource("disk", 32)
	mount.Disk = &DiskInfo{Source: &DiskSource{Type: "MOUNT", Mount: &DiskPath{Root: "/mnt/a"}}}
	tests := []struct {
		name string
		rs   Resources
		want uint64
	}{
		{"none", parse(t, "cpus:1;mem:128"), 0},
		{"MB as in Mesos", parse(t, "disk:100"), 100 << 20},
		{"sums across roles", parse(t, "disk:100;disk(web):0.5"), 100<<20 + 1<<19},
		{"volumes and mounts live elsewhere", append(parse(t, "disk:10"), volume, mount), 10 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rs.SandboxDiskBytes(); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			ti := TaskInfo{Resources: tt.rs}
			if got := ti.DiskBytes(); got != tt.want {
				t.Errorf("TaskInfo.DiskBytes: got %d, want %d", got, tt.want)
			}
		})
	}
}
