package api

// ValueType says which of a Value's or Resource's payloads is set.
type ValueType string

// The Value types of mesos.proto.
const (
	SCALAR ValueType = "SCALAR"
	RANGES ValueType = "RANGES"
	SET    ValueType = "SET"
	TEXT   ValueType = "TEXT"
)

// Scalar is a quantity such as 0.5 CPUs or 128 MB of memory. Mesos keeps
// scalars in fixed point with three decimals; see Resources for arithmetic.
type Scalar struct {
	Value Float64 `json:"value"`
}

// Range is an inclusive range of unsigned integers, usually ports.
type Range struct {
	Begin Uint64 `json:"begin"`
	End   Uint64 `json:"end"`
}

// Ranges is a list of ranges; printed as {"range":[...]}.
type Ranges struct {
	Range []Range `json:"range,omitempty"`
}

// Set is a set of strings, such as GPU device names.
type Set struct {
	Item []string `json:"item,omitempty"`
}

// Text is a text attribute value.
type Text struct {
	Value string `json:"value"`
}

// Value is a typed value: Mesos's union of scalar, ranges, set and text.
type Value struct {
	Type   ValueType `json:"type"`
	Scalar *Scalar   `json:"scalar,omitempty"`
	Ranges *Ranges   `json:"ranges,omitempty"`
	Set    *Set      `json:"set,omitempty"`
	Text   *Text     `json:"text,omitempty"`
}

// Attribute describes an agent (rack, zone, ...) for frameworks' placement
// decisions; attributes are carried into every offer for the agent.
type Attribute struct {
	Name   string    `json:"name"`
	Type   ValueType `json:"type"`
	Scalar *Scalar   `json:"scalar,omitempty"`
	Ranges *Ranges   `json:"ranges,omitempty"`
	Set    *Set      `json:"set,omitempty"`
	Text   *Text     `json:"text,omitempty"`
}

// Label is a free-form key and value attached to frameworks, tasks and
// statuses.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Labels wraps a label list, printed as {"labels":[...]} as in mesos.proto.
type Labels struct {
	Labels []Label `json:"labels,omitempty"`
}

// Get returns the value of the first label with the key; ok is false when
// there is none (or no labels at all: l may be nil, as it is on a status
// without labels).
func (l *Labels) Get(key string) (value string, ok bool) {
	if l == nil {
		return "", false
	}
	for _, x := range l.Labels {
		if x.Key == key {
			return x.Value, true
		}
	}
	return "", false
}

// Parameter is a key and value passed to a containerizer.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Parameters wraps a parameter list.
type Parameters struct {
	Parameter []Parameter `json:"parameter,omitempty"`
}
