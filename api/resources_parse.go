package api

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateResource returns an error saying what is wrong with r, or nil. It
// applies Mesos's Resources::validate: a name; a type of SCALAR, RANGES or
// SET with exactly the matching payload; a finite scalar between 0 and
// MaxScalar that does not round to zero at three decimals; ranges with
// Begin <= End that do not overlap; set items without duplicates; disk
// information only on "disk"; valid roles and a consistent reservation
// stack in either form; sharing only for persistent volumes.
func ValidateResource(r Resource) error {
	if err := checkResource(&r); err != nil {
		return fmt.Errorf("invalid resource %q: %w", r.String(), err)
	}
	return nil
}

// ValidateResources applies ValidateResource to each resource of rs and
// returns the first error, which names the resource and its index.
// Resources with the same name and different types are allowed here, as in
// Mesos; ParseResources refuses them.
func ValidateResources(rs []Resource) error {
	for i := range rs {
		if err := checkResource(&rs[i]); err != nil {
			return fmt.Errorf("invalid resource %d %q: %w", i, rs[i].String(), err)
		}
	}
	return nil
}

// ValidateRole returns an error unless role is a valid Mesos role name: "*"
// (the unreserved default), or one or more components separated by single
// slashes, none of them empty, ".", "..", "*", starting with "-", or holding
// whitespace, control characters or backslashes. Roles must also be valid UTF-8.
func ValidateRole(role string) error {
	if role == "*" {
		return nil
	}
	if err := checkRole(role); err != nil {
		return fmt.Errorf("invalid role %q: %w", role, err)
	}
	return nil
}

func checkRole(role string) error {
	switch {
	case role == "":
		return errors.New("a role name must not be empty")
	case !utf8.ValidString(role):
		return errors.New("it is not valid UTF-8")
	case strings.HasPrefix(role, "/"):
		return errors.New("it starts with a slash")
	case strings.HasSuffix(role, "/"):
		return errors.New("it ends with a slash")
	case strings.Contains(role, "//"):
		return errors.New("it has two adjacent slashes")
	}
	for c := range strings.SplitSeq(role, "/") {
		if err := checkRoleComponent(c); err != nil {
			return err
		}
	}
	return nil
}

func checkRoleComponent(c string) error {
	switch {
	case c == "." || c == ".." || c == "*":
		return fmt.Errorf("it has %q as a component", c)
	case strings.HasPrefix(c, "-"):
		return fmt.Errorf("component %q starts with a dash", c)
	case strings.IndexFunc(c, badRoleRune) >= 0:
		return fmt.Errorf("component %q contains whitespace, a control character or a backslash", c)
	}
	return nil
}

// badRoleRune rejects what cannot be in a directory or metric name; the
// backslash because roles become paths on every platform.
func badRoleRune(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' }

// checkResource is ValidateResource without naming the resource.
func checkResource(r *Resource) error {
	if r.Name == "" {
		return errors.New("the name is empty")
	}
	for _, check := range []func(*Resource) error{
		checkValue, checkDisk, checkReservations, checkAllocation, checkShared,
	} {
		if err := check(r); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(r *Resource) error {
	hasScalar, hasRanges, hasSet := r.Scalar != nil, r.Ranges != nil, r.Set != nil
	switch r.Type {
	case SCALAR:
		if !hasScalar || hasRanges || hasSet {
			return errors.New("type SCALAR needs a scalar and no ranges or set")
		}
		return checkScalar(float64(r.Scalar.Value))
	case RANGES:
		if hasScalar || !hasRanges || hasSet {
			return errors.New("type RANGES needs ranges and no scalar or set")
		}
		return checkRanges(r.Ranges.Range)
	case SET:
		if hasScalar || hasRanges || !hasSet {
			return errors.New("type SET needs a set and no scalar or ranges")
		}
		return checkSet(r.Set.Item)
	}
	return fmt.Errorf("type %q is not SCALAR, RANGES or SET", r.Type)
}

func checkScalar(v float64) error {
	switch {
	case math.IsNaN(v):
		return errors.New("the scalar is NaN")
	case math.IsInf(v, 0):
		return fmt.Errorf("the scalar %g is infinite", v)
	case v < 0:
		return fmt.Errorf("the scalar %g is negative", v)
	case v > MaxScalar:
		return fmt.Errorf("the scalar %g is above the maximum of %g", v, MaxScalar)
	case v != 0 && toMillis(v) == 0:
		return fmt.Errorf("the scalar %g rounds to zero at three decimals", v)
	}
	return nil
}

func checkRanges(rs []Range) error {
	for _, r := range rs {
		if r.Begin > r.End {
			return fmt.Errorf("range %d-%d begins after it ends", r.Begin, r.End)
		}
	}
	// Ranges are usually sorted already (every result of this package
	// is): sort a copy only when they are not, since this check runs on
	// every operand of every operation.
	sorted := rs
	if !slices.IsSortedFunc(rs, compareBegin) {
		sorted = slices.SortedFunc(slices.Values(rs), compareBegin)
	}
	for i := 1; i < len(sorted); i++ {
		if a, b := sorted[i-1], sorted[i]; b.Begin <= a.End {
			return fmt.Errorf("ranges %d-%d and %d-%d overlap", a.Begin, a.End, b.Begin, b.End)
		}
	}
	return nil
}

func compareBegin(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) }

func checkSet(items []string) error {
	if sortedUnique(items) {
		return nil // as every result of this package holds them
	}
	seen := make(map[string]bool, len(items))
	for _, item := range items {
		if seen[item] {
			return fmt.Errorf("set item %q appears twice", item)
		}
		seen[item] = true
	}
	return nil
}

func checkDisk(r *Resource) error {
	if r.Disk == nil {
		return nil
	}
	if r.Name != "disk" {
		return fmt.Errorf("only a resource named \"disk\" may carry disk information, not %q", r.Name)
	}
	src := r.Disk.Source
	if src == nil {
		return nil
	}
	switch src.Type {
	case "PATH", "MOUNT":
		return nil
	case "BLOCK", "RAW":
		if src.Mount != nil || src.Path != nil {
			return fmt.Errorf("a %s disk source must not have a mount or path", src.Type)
		}
		return nil
	}
	return fmt.Errorf("disk source type %q is not PATH, MOUNT, BLOCK or RAW", src.Type)
}

// checkReservations checks the reservation fields as Mesos does, in the
// pre-refinement form (Role, Reservation), the post-refinement form
// (Reservations) or both.
func checkReservations(r *Resource) error {
	if len(r.Reservations) == 0 {
		return checkPreRefinement(r)
	}
	for i, ri := range r.Reservations {
		if err := checkReservation(ri); err != nil {
			return err
		}
		if i > 0 {
			if err := checkRefinement(r.Reservations[i-1], ri); err != nil {
				return err
			}
		}
	}
	return checkBothForms(r)
}

func checkPreRefinement(r *Resource) error {
	if r.Role != "" {
		// Checked only when set: ValidateRole("") builds an error, and
		// this runs for every resource of every arithmetic operation.
		if err := ValidateRole(r.Role); err != nil {
			return err
		}
	}
	switch res := r.Reservation; {
	case res == nil:
		return nil
	case res.Type != "":
		return errors.New("the pre-refinement reservation must not set a type")
	case res.Role != "":
		return errors.New("the pre-refinement reservation must not set a role")
	case r.Role == "" || r.Role == "*":
		return errors.New("an unreserved resource (role \"*\") cannot carry a reservation")
	}
	return nil
}

func checkReservation(ri ReservationInfo) error {
	switch {
	case ri.Type == "":
		return errors.New("a reservation has no type")
	case ri.Type != ReservationStatic && ri.Type != ReservationDynamic:
		return fmt.Errorf("reservation type %q is not STATIC or DYNAMIC", ri.Type)
	case ri.Role == "":
		return errors.New("a reservation has no role")
	case ri.Role == "*":
		return errors.New("role \"*\" cannot be reserved")
	}
	return ValidateRole(ri.Role)
}

func checkRefinement(parent, child ReservationInfo) error {
	if child.Type == ReservationStatic {
		return fmt.Errorf("the refined reservation for %q cannot be STATIC", child.Role)
	}
	if !isStrictSubrole(child.Role, parent.Role) {
		return fmt.Errorf("role %q is not a refinement of %q", child.Role, parent.Role)
	}
	return nil
}

// checkBothForms checks that the pre-refinement fields, when set beside
// Reservations, say the same thing.
func checkBothForms(r *Resource) error {
	if r.Role == "" && r.Reservation == nil {
		return nil
	}
	if len(r.Reservations) > 1 {
		return errors.New("role and reservation must not be set beside more than one reservation")
	}
	ri := r.Reservations[0]
	switch {
	case r.Role != "" && r.Role != ri.Role:
		return fmt.Errorf("role %q does not match the reservation's role %q", r.Role, ri.Role)
	case ri.Type == ReservationStatic && r.Reservation != nil:
		return errors.New("reservation must not be set beside a STATIC reservation")
	case ri.Type == ReservationStatic:
		return nil
	case (r.Role != "") != (r.Reservation != nil):
		return errors.New("role and reservation must be set together beside a DYNAMIC reservation")
	case r.Reservation.Principal != ri.Principal || !sameLabels(r.Reservation.Labels, ri.Labels):
		return errors.New("reservation does not match the principal and labels in reservations")
	}
	return nil
}

func checkAllocation(r *Resource) error {
	if role := allocationRole(r); role != "" {
		return ValidateRole(role)
	}
	return nil
}

func checkShared(r *Resource) error {
	switch {
	case r.Shared == nil:
		return nil
	case r.Name != "disk":
		return fmt.Errorf("only disk resources can be shared, not %q", r.Name)
	case r.Disk == nil || r.Disk.Persistence == nil:
		return errors.New("only persistent volumes can be shared")
	}
	return nil
}

// ParseResources parses the Mesos agent flag syntax for resources:
// name:value pairs separated by semicolons, where a value is a scalar
// ("0.5"), a range list ("[21-22,31000-32000]") or a set ("{a,b}"), and a
// role in parentheses after the name makes a static reservation
// ("cpus(web):2"; "(*)" means unreserved). Whitespace around tokens is
// ignored, as are empty pairs. Pairs of one kind are merged
// ("cpus:1;cpus:1" is cpus:2) and overlapping ranges coalesced, as Mesos
// does; one name with two types, invalid resources (see ValidateResource),
// names holding brackets and ranges that are not begin-end are errors that
// quote the offending pair. The result is normalized, and its String parses
// back to an equal value. Mesos's JSON form of the flag is not accepted.
func ParseResources(s string) (Resources, error) {
	var all []Resource
	for tok := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(tok) == "" {
			continue
		}
		r, err := parseResource(tok)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", strings.TrimSpace(tok), err)
		}
		all = append(all, r)
	}
	if err := checkNameTypes(all); err != nil {
		return nil, err
	}
	return NewResources(all...), nil
}

// parseResource parses one name(role):value pair.
func parseResource(tok string) (Resource, error) {
	head, text, ok := strings.Cut(tok, ":")
	if !ok || strings.Contains(text, ":") {
		return Resource{}, errors.New("want exactly one ':' between name and value")
	}
	name, role, err := parseResourceName(head)
	if err != nil {
		return Resource{}, err
	}
	r, err := parseResourceValue(strings.TrimSpace(text))
	if err != nil {
		return Resource{}, err
	}
	r.Name = name
	if role != "*" {
		r.Reservations = []ReservationInfo{{Type: ReservationStatic, Role: role}}
	}
	return r, checkResource(&r)
}

// parseResourceName splits "name(role)" into its parts; role is "*" when
// there are no parentheses.
func parseResourceName(head string) (name, role string, err error) {
	name, role = strings.TrimSpace(head), "*"
	if open := strings.IndexByte(head, '('); open >= 0 {
		end := strings.IndexByte(head, ')')
		switch {
		case end < open:
			return "", "", errors.New("mismatched parentheses")
		case strings.TrimSpace(head[end+1:]) != "":
			return "", "", fmt.Errorf("unexpected %q after the role", strings.TrimSpace(head[end+1:]))
		}
		name, role = strings.TrimSpace(head[:open]), strings.TrimSpace(head[open+1:end])
		if role == "" {
			return "", "", errors.New("the role in parentheses is empty")
		}
	}
	switch {
	case name == "":
		return "", "", errors.New("the name is empty")
	case strings.ContainsAny(name, "()[]{}<>"):
		return "", "", fmt.Errorf("name %q contains a bracket", name)
	}
	return name, role, nil
}

// parseResourceValue parses a resource value: [ranges], {set} or a scalar.
func parseResourceValue(v string) (Resource, error) {
	switch {
	case v == "":
		return Resource{}, errors.New("the value is empty")
	case v[0] == '[':
		rs, err := parseRanges(v)
		return Resource{Type: RANGES, Ranges: &Ranges{Range: rs}}, err
	case v[0] == '{':
		items, err := parseSet(v)
		return Resource{Type: SET, Set: &Set{Item: items}}, err
	}
	f, err := parseNumber(v)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return Resource{}, fmt.Errorf("value %q is out of range", v)
	case err != nil:
		return Resource{}, fmt.Errorf("value %q is not a number, a [range list] or a {set}", v)
	}
	return Resource{Type: SCALAR, Scalar: &Scalar{Value: Float64(f)}}, nil
}

// parseRanges parses "[a-b,c-d]", coalescing overlaps as Mesos does.
func parseRanges(v string) ([]Range, error) {
	if len(v) < 2 || v[len(v)-1] != ']' {
		return nil, fmt.Errorf("range list %q does not end with ']'", v)
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	if inner == "" {
		return nil, nil
	}
	var out []Range
	for item := range strings.SplitSeq(inner, ",") {
		r, err := parseRange(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return coalesce(out), nil
}

func parseRange(item string) (Range, error) {
	b, e, ok := strings.Cut(item, "-")
	if !ok {
		return Range{}, fmt.Errorf("range %q is not of the form begin-end", item)
	}
	begin, err1 := strconv.ParseUint(strings.TrimSpace(b), 10, 64)
	end, err2 := strconv.ParseUint(strings.TrimSpace(e), 10, 64)
	switch {
	case err1 != nil || err2 != nil:
		return Range{}, fmt.Errorf("range %q does not have unsigned integer bounds", item)
	case begin > end:
		return Range{}, fmt.Errorf("range %q begins after it ends", item)
	}
	return Range{Begin: Uint64(begin), End: Uint64(end)}, nil
}

// parseSet parses "{a,b}"; duplicates are left for validation to report.
func parseSet(v string) ([]string, error) {
	if len(v) < 2 || v[len(v)-1] != '}' {
		return nil, fmt.Errorf("set %q does not end with '}'", v)
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	if inner == "" {
		return nil, nil
	}
	var out []string
	for item := range strings.SplitSeq(inner, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			return nil, fmt.Errorf("set %q has an empty item", v)
		case strings.ContainsAny(item, "{}"):
			return nil, fmt.Errorf("set item %q contains a brace", item)
		}
		out = append(out, item)
	}
	return out, nil
}

// parseNumber parses a decimal number ("8", "0.5", "1e3"), refusing the
// other spellings strconv accepts (hexadecimal, "inf", "nan", underscores).
func parseNumber(v string) (float64, error) {
	if strings.Trim(v, "0123456789.eE+-") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(v, 64)
}

// checkNameTypes refuses one name with two types, as Mesos's
// validateCommandLineResources does.
func checkNameTypes(rs []Resource) error {
	types := map[string]ValueType{}
	for _, r := range rs {
		if t, ok := types[r.Name]; ok && t != r.Type {
			return fmt.Errorf("resources named %q have two types, %s and %s", r.Name, t, r.Type)
		}
		types[r.Name] = r.Type
	}
	return nil
}

// String prints rs in the agent flag syntax, in canonical order (see
// Sorted) and separated by semicolons: "cpus:4;mem:8192;ports:[31000-32000]".
// It prints rs as it is, without normalizing, so that logs show invalid
// resources too; the empty Resources prints as "". Only what the flag
// syntax can say round-trips through ParseResources; see Resource.String.
func (rs Resources) String() string {
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, compareResources)
	parts := make([]string, len(sorted))
	for i, r := range sorted {
		parts[i] = r.String()
	}
	return strings.Join(parts, ";")
}

// String prints r in the agent flag syntax, "cpus(web):2", scalars without
// trailing zeros. What the flag syntax cannot say is printed in Mesos's log
// form, which ParseResources refuses rather than misreads: a reservation
// stack other than one plain STATIC reservation as
// "(reservations: [(DYNAMIC,web,alice)])", then "(allocated: web)", a disk
// as "[MOUNT:/mnt/a,volume-id]", "{REV}" and "<SHARED>". A missing value
// prints as "?".
func (r Resource) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteString(reservationsText(&r))
	if role := allocationRole(&r); role != "" {
		b.WriteString("(allocated: " + role + ")")
	}
	b.WriteString(diskText(r.Disk))
	if r.Revocable != nil {
		b.WriteString("{REV}")
	}
	if r.Shared != nil {
		b.WriteString("<SHARED>")
	}
	b.WriteString(":" + valueText(&r))
	return b.String()
}

func reservationsText(r *Resource) string {
	n := stackLen(r)
	if n == 0 {
		return ""
	}
	if ri := stackAt(r, 0); n == 1 && ri.Type == ReservationStatic && ri.Principal == "" &&
		labelsText(ri.Labels) == "" {
		return "(" + ri.Role + ")"
	}
	parts := make([]string, n)
	for i := range parts {
		ri := stackAt(r, i)
		parts[i] = "(" + string(ri.Type) + "," + ri.Role
		if ri.Principal != "" {
			parts[i] += "," + ri.Principal
		}
		if l := labelsText(ri.Labels); l != "" {
			parts[i] += ",{" + l + "}"
		}
		parts[i] += ")"
	}
	return "(reservations: [" + strings.Join(parts, ",") + "])"
}

// labelsText prints labels sorted as "k: v, k2", Mesos's form without the
// braces; nil and empty labels print as "".
func labelsText(l *Labels) string {
	if l == nil || len(l.Labels) == 0 {
		return ""
	}
	parts := make([]string, len(l.Labels))
	for i, label := range l.Labels {
		parts[i] = label.Key
		if label.Value != "" {
			parts[i] += ": " + label.Value
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// diskText prints a disk as Mesos does, "[source,persistence-id]"; "" for
// nil.
func diskText(d *DiskInfo) string {
	if d == nil {
		return ""
	}
	s := sourceText(d.Source)
	if d.Persistence != nil {
		if s != "" {
			s += ","
		}
		s += d.Persistence.ID
	}
	return "[" + s + "]"
}

// sourceText prints a disk source as Mesos does: "MOUNT:/root", or
// "RAW(vendor,id,profile)" for a CSI source.
func sourceText(src *DiskSource) string {
	if src == nil {
		return ""
	}
	s := src.Type
	switch {
	case src.ID != "" || src.Profile != "":
		s += "(" + src.Vendor + "," + src.ID + "," + src.Profile + ")"
	case src.Mount != nil && src.Mount.Root != "":
		s += ":" + src.Mount.Root
	case src.Path != nil && src.Path.Root != "":
		s += ":" + src.Path.Root
	}
	if l := labelsText(src.Metadata); l != "" {
		s += "{" + l + "}"
	}
	return s
}

// valueText prints a resource's value: "0.5", "[1-2,5-5]" or "{a,b}".
func valueText(r *Resource) string {
	switch {
	case r.Type == SCALAR && r.Scalar != nil:
		return formatScalar(float64(r.Scalar.Value))
	case r.Type == RANGES && r.Ranges != nil:
		return rangesText(r.Ranges.Range)
	case r.Type == SET && r.Set != nil:
		return "{" + strings.Join(r.Set.Item, ",") + "}"
	}
	return "?"
}

// formatScalar prints a scalar in the fewest digits that read back the same,
// without an exponent or trailing zeros: 4, 0.5, 8192.
func formatScalar(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func rangesText(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatUint(uint64(r.Begin), 10) + "-" + strconv.FormatUint(uint64(r.End), 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ParseAttributes parses the Mesos agent flag syntax for attributes,
// "rack:r1;zone:a;cores:8;ports:[1-2]": name:value pairs separated by
// semicolons, split at the first colon. As in Mesos, a value that reads as a
// decimal number is SCALAR, "[..]" is RANGES, "{..}" is SET and anything
// else is TEXT; unlike Mesos, "inf" and "nan" stay TEXT, malformed ranges
// and sets are errors rather than TEXT, and spaces inside a value are kept.
// Whitespace around tokens is ignored, as are empty pairs. Order is kept and
// names may repeat. Errors quote the offending pair.
func ParseAttributes(s string) ([]Attribute, error) {
	var out []Attribute
	for tok := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(tok) == "" {
			continue
		}
		a, err := parseAttribute(tok)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", strings.TrimSpace(tok), err)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAttribute(tok string) (Attribute, error) {
	name, text, ok := strings.Cut(tok, ":")
	name, text = strings.TrimSpace(name), strings.TrimSpace(text)
	switch {
	case !ok:
		return Attribute{}, errors.New("want name:value")
	case name == "":
		return Attribute{}, errors.New("the name is empty")
	case text == "":
		return Attribute{}, errors.New("the value is empty")
	}
	a, err := parseAttributeValue(text)
	a.Name = name
	return a, err
}

func parseAttributeValue(v string) (Attribute, error) {
	switch v[0] {
	case '[':
		rs, err := parseRanges(v)
		return Attribute{Type: RANGES, Ranges: &Ranges{Range: rs}}, err
	case '{':
		items, err := parseSet(v)
		if err == nil {
			err = checkSet(items)
		}
		return Attribute{Type: SET, Set: &Set{Item: items}}, err
	}
	if f, err := parseNumber(v); err == nil {
		return Attribute{Type: SCALAR, Scalar: &Scalar{Value: Float64(f)}}, nil
	}
	return Attribute{Type: TEXT, Text: &Text{Value: v}}, nil
}

// FormatAttributes prints attributes in the agent flag syntax that
// ParseAttributes reads, in the given order: "rack:r1;cores:8". A TEXT value
// that reads as a number, range list or set does not round-trip; a missing
// value prints as "?".
func FormatAttributes(attrs []Attribute) string {
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		parts[i] = a.Name + ":" + attributeText(&a)
	}
	return strings.Join(parts, ";")
}

func attributeText(a *Attribute) string {
	switch {
	case a.Type == TEXT && a.Text != nil:
		return a.Text.Value
	case a.Type == SCALAR && a.Scalar != nil:
		return formatScalar(float64(a.Scalar.Value))
	case a.Type == RANGES && a.Ranges != nil:
		return rangesText(a.Ranges.Range)
	case a.Type == SET && a.Set != nil:
		return "{" + strings.Join(a.Set.Item, ",") + "}"
	}
	return "?"
}
