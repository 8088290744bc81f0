package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/proto"
	descpb "github.com/golang/protobuf/protoc-gen-go/descriptor"
	"google.golang.org/genproto/googleapis/api/annotations"
)

// Stable FieldViolation.reason codes of the gateway's own checks (docs/rest-gateway.md).
// A client may switch on them; the description is for people and may change.
const (
	reasonMalformedJSON  = "MALFORMED_JSON"
	reasonUnknownField   = "UNKNOWN_FIELD"
	reasonNullElement    = "NULL_ELEMENT"
	reasonWrongType      = "WRONG_TYPE"
	reasonUnknownEnum    = "UNKNOWN_ENUM_VALUE"
	reasonOutOfRange     = "OUT_OF_RANGE"
	reasonBadTimestamp   = "BAD_TIMESTAMP"
	reasonBadDuration    = "BAD_DURATION"
	reasonBadDate        = "BAD_DATE"
	reasonBadBytes       = "BAD_BYTES"
	reasonOneofConflict  = "ONEOF_CONFLICT"
	reasonRepeatedParam  = "REPEATED_QUERY_PARAMETER"
	reasonPathParamQuery = "PATH_PARAMETER_IN_QUERY"
	reasonRequired       = "REQUIRED"
)

// violation is one google.rpc.BadRequest.FieldViolation found before the request is sent on.
type violation struct {
	Field       string
	Description string
	Reason      string
}

// checker walks a request's JSON against its request message descriptor, following the
// proto3 JSON mapping as the gateway's decoder (jsonpb) applies it, and collects every
// problem with its field path. grpc-gateway v1.6 would otherwise answer a null list element
// with a 500 carrying Go internals, and every other mistake with a Go error string and no
// field violations.
type checker struct {
	reg        *registry
	violations []violation
}

func (c *checker) add(field, reason, format string, args ...interface{}) {
	c.violations = append(c.violations, violation{Field: field, Reason: reason,
		Description: fmt.Sprintf(format, args...)})
}

// checkBody checks a request body for the message named typeName ("" body is an empty
// message, as the gateway treats it).
func (reg *registry) checkBody(body []byte, typeName string) []violation {
	c := &checker{reg: reg}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var value interface{}
	if err := dec.Decode(&value); err != nil {
		c.add("body", reasonMalformedJSON, "the body is not valid JSON: %s", jsonProblem(err))
		return c.violations
	}
	if _, err := dec.Token(); err != io.EOF {
		c.add("body", reasonMalformedJSON, "the body has more after its first JSON value; send one JSON object")
		return c.violations
	}
	if _, ok := value.(map[string]interface{}); !ok {
		c.add("body", reasonWrongType, "the body must be a JSON object, not %s", jsonKind(value))
		return c.violations
	}
	c.message("", value, typeName)
	sortViolations(c.violations)
	return c.violations
}

func sortViolations(vs []violation) {
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Field < vs[j].Field })
}

// jsonProblem says where a JSON syntax error is without echoing the body (it may hold PHI).
func jsonProblem(err error) string {
	if syntax, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return "it ends too early"
	}
	return "it cannot be parsed"
}

func jsonKind(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	}
	return "an unknown JSON value"
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// fieldByJSONName finds a field by its proto name or its lowerCamel JSON name (jsonpb
// accepts both).
func fieldByJSONName(msg *descpb.DescriptorProto, name string) *descpb.FieldDescriptorProto {
	for _, f := range msg.GetField() {
		if f.GetName() == name || f.GetJsonName() == name {
			return f
		}
	}
	return nil
}

func (c *checker) message(path string, value interface{}, typeName string) {
	switch typeName {
	case ".google.protobuf.Timestamp":
		c.timestamp(path, value)
		return
	case ".google.protobuf.Duration":
		c.duration(path, value)
		return
	case ".google.protobuf.Value", ".google.protobuf.Any":
		return // any JSON value / an object with "@type": the service checks the content
	case ".google.protobuf.ListValue":
		if _, ok := value.([]interface{}); !ok {
			c.add(path, reasonWrongType, "must be a list, not %s", jsonKind(value))
		}
		return
	case ".google.protobuf.Struct":
		if _, ok := value.(map[string]interface{}); !ok {
			c.add(path, reasonWrongType, "must be an object, not %s", jsonKind(value))
		}
		return
	}
	msg := c.reg.messages[typeName]
	if msg == nil {
		return // not an API type (cannot happen for a descriptor set that loaded)
	}
	if isWrapper(typeName) {
		c.field(path, value, msg.GetField()[0])
		return
	}
	obj, ok := value.(map[string]interface{})
	if !ok {
		c.add(path, reasonWrongType, "must be an object, not %s", jsonKind(value))
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	before := len(c.violations)
	oneofs := map[int32]string{}
	for _, key := range keys {
		f := fieldByJSONName(msg, key)
		if f == nil {
			c.add(join(path, key), reasonUnknownField, "is not a field of %s%s", strings.TrimPrefix(typeName, "."),
				suggestField(msg, key))
			continue
		}
		v := obj[key]
		if v == nil {
			continue // null means "not set" in the proto3 JSON mapping
		}
		if f.OneofIndex != nil {
			idx := f.GetOneofIndex()
			if other, taken := oneofs[idx]; taken {
				c.add(join(path, f.GetName()), reasonOneofConflict, "cannot be sent with %s: give only one of %s",
					other, strings.Join(oneofMembers(msg, idx), ", "))
				continue
			}
			oneofs[idx] = f.GetName()
		}
		c.field(join(path, f.GetName()), v, f)
	}
	for _, f := range msg.GetField() {
		if isRequired(f) && obj[f.GetName()] == nil && obj[f.GetJsonName()] == nil {
			c.add(join(path, f.GetName()), reasonRequired, "is required")
		}
	}
	if typeName == ".google.type.Date" && len(c.violations) == before {
		c.date(path, obj)
	}
}

func oneofMembers(msg *descpb.DescriptorProto, idx int32) []string {
	var names []string
	for _, f := range msg.GetField() {
		if f.OneofIndex != nil && f.GetOneofIndex() == idx {
			names = append(names, f.GetName())
		}
	}
	return names
}

// suggestField names a field the typo probably meant (same letters but for one edit, or
// one is a prefix of the other), as the service's own "did you mean" does for plan ids.
func suggestField(msg *descpb.DescriptorProto, key string) string {
	for _, f := range msg.GetField() {
		if nearlyEqual(strings.ToLower(key), f.GetName()) {
			return fmt.Sprintf(" (did you mean %q?)", f.GetName())
		}
	}
	return ""
}

func nearlyEqual(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return a[i+1:] == b[i+1:]
	}
	return a[i:] == b[i+1:]
}

func isWrapper(typeName string) bool {
	switch typeName {
	case ".google.protobuf.DoubleValue", ".google.protobuf.FloatValue", ".google.protobuf.Int64Value",
		".google.protobuf.UInt64Value", ".google.protobuf.Int32Value", ".google.protobuf.UInt32Value",
		".google.protobuf.BoolValue", ".google.protobuf.StringValue", ".google.protobuf.BytesValue":
		return true
	}
	return false
}

func (c *checker) isMapEntry(f *descpb.FieldDescriptorProto) *descpb.DescriptorProto {
	if f.GetType() != descpb.FieldDescriptorProto_TYPE_MESSAGE {
		return nil
	}
	m := c.reg.messages[f.GetTypeName()]
	if m != nil && m.GetOptions().GetMapEntry() {
		return m
	}
	return nil
}

// field checks one field's value: a list for repeated fields (no null elements), an object
// for maps, else one value.
func (c *checker) field(path string, value interface{}, f *descpb.FieldDescriptorProto) {
	if entry := c.isMapEntry(f); entry != nil {
		obj, ok := value.(map[string]interface{})
		if !ok {
			c.add(path, reasonWrongType, "must be an object (a map), not %s", jsonKind(value))
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := fmt.Sprintf("%s[%s]", path, strconv.Quote(k))
			if obj[k] == nil {
				c.add(p, reasonNullElement, "a map value cannot be null")
				continue
			}
			c.single(p, obj[k], entry.GetField()[1])
		}
		return
	}
	if f.GetLabel() == descpb.FieldDescriptorProto_LABEL_REPEATED {
		list, ok := value.([]interface{})
		if !ok {
			c.add(path, reasonWrongType, "must be a list, not %s", jsonKind(value))
			return
		}
		for i, item := range list {
			p := fmt.Sprintf("%s[%d]", path, i)
			if item == nil {
				c.add(p, reasonNullElement, "a list element cannot be null; leave it out")
				continue
			}
			c.single(p, item, f)
		}
		return
	}
	c.single(path, value, f)
}

var integerText = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// single checks one (non-list) value of field f.
func (c *checker) single(path string, value interface{}, f *descpb.FieldDescriptorProto) {
	switch f.GetType() {
	case descpb.FieldDescriptorProto_TYPE_MESSAGE, descpb.FieldDescriptorProto_TYPE_GROUP:
		c.message(path, value, f.GetTypeName())
	case descpb.FieldDescriptorProto_TYPE_ENUM:
		c.enum(path, value, f.GetTypeName())
	case descpb.FieldDescriptorProto_TYPE_STRING:
		if _, ok := value.(string); !ok {
			c.add(path, reasonWrongType, "must be a string, not %s", jsonKind(value))
		}
	case descpb.FieldDescriptorProto_TYPE_BYTES:
		s, ok := value.(string)
		if !ok {
			c.add(path, reasonWrongType, "must be a base64 string, not %s", jsonKind(value))
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			if _, err := base64.URLEncoding.DecodeString(s); err != nil {
				c.add(path, reasonBadBytes, "is not base64")
			}
		}
	case descpb.FieldDescriptorProto_TYPE_BOOL:
		if _, ok := value.(bool); !ok {
			c.add(path, reasonWrongType, "must be true or false, not %s", jsonKind(value))
		}
	case descpb.FieldDescriptorProto_TYPE_FLOAT, descpb.FieldDescriptorProto_TYPE_DOUBLE:
		c.float(path, value, f.GetType() == descpb.FieldDescriptorProto_TYPE_FLOAT)
	default:
		c.integer(path, value, f.GetType())
	}
}

func numberText(value interface{}) (string, bool) {
	switch v := value.(type) {
	case json.Number:
		return v.String(), true
	case string: // the proto3 JSON mapping accepts numbers as strings (int64 always is one)
		return v, true
	}
	return "", false
}

func (c *checker) integer(path string, value interface{}, t descpb.FieldDescriptorProto_Type) {
	text, ok := numberText(value)
	if !ok {
		c.add(path, reasonWrongType, "must be an integer, not %s", jsonKind(value))
		return
	}
	if !integerText.MatchString(text) {
		c.add(path, reasonWrongType, "must be a whole number written without a fraction or exponent")
		return
	}
	var err error
	var lo, hi string
	switch t {
	case descpb.FieldDescriptorProto_TYPE_INT32, descpb.FieldDescriptorProto_TYPE_SINT32,
		descpb.FieldDescriptorProto_TYPE_SFIXED32:
		_, err = strconv.ParseInt(text, 10, 32)
		lo, hi = "-2147483648", "2147483647"
	case descpb.FieldDescriptorProto_TYPE_UINT32, descpb.FieldDescriptorProto_TYPE_FIXED32:
		_, err = strconv.ParseUint(text, 10, 32)
		lo, hi = "0", "4294967295"
	case descpb.FieldDescriptorProto_TYPE_UINT64, descpb.FieldDescriptorProto_TYPE_FIXED64:
		_, err = strconv.ParseUint(text, 10, 64)
		lo, hi = "0", "18446744073709551615"
	default:
		_, err = strconv.ParseInt(text, 10, 64)
		lo, hi = "-9223372036854775808", "9223372036854775807"
	}
	if err != nil {
		c.add(path, reasonOutOfRange, "is out of range: it must be between %s and %s", lo, hi)
	}
}

func (c *checker) float(path string, value interface{}, single bool) {
	text, ok := numberText(value)
	if !ok {
		c.add(path, reasonWrongType, "must be a number, not %s", jsonKind(value))
		return
	}
	switch text {
	case "NaN", "Infinity", "-Infinity":
		return
	}
	bits := 64
	if single {
		bits = 32
	}
	v, err := strconv.ParseFloat(text, bits)
	if err != nil && (math.IsInf(v, 0) || strings.Contains(err.Error(), "range")) {
		c.add(path, reasonOutOfRange, "is out of range for a %d-bit float", bits)
	} else if err != nil {
		c.add(path, reasonWrongType, "must be a number")
	}
}

func (c *checker) enum(path string, value interface{}, typeName string) {
	e := c.reg.enums[typeName]
	if e == nil {
		return
	}
	names := make([]string, 0, len(e.GetValue()))
	for _, v := range e.GetValue() {
		names = append(names, v.GetName())
	}
	switch v := value.(type) {
	case string:
		for _, name := range names {
			if name == v {
				return
			}
		}
		c.add(path, reasonUnknownEnum, "is not one of %s", strings.Join(names, ", "))
	case json.Number:
		// The proto3 JSON mapping would take the enum's number too; this API takes the name
		// only, as its OpenAPI file says: a bare 2 is easily the wrong one, NETWORK_OUT is not.
		c.add(path, reasonWrongType, "must be the name, one of %s, not a number", strings.Join(names, ", "))
	default:
		c.add(path, reasonWrongType, "must be one of %s, not %s", strings.Join(names, ", "), jsonKind(value))
	}
}

func (c *checker) timestamp(path string, value interface{}) {
	s, ok := value.(string)
	if !ok {
		c.add(path, reasonWrongType, `must be an RFC 3339 string such as "2026-03-01T00:00:00Z", not %s`, jsonKind(value))
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		c.add(path, reasonBadTimestamp, `is not an RFC 3339 time such as "2026-03-01T00:00:00Z"`)
	}
}

var durationText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?s$`)

func (c *checker) duration(path string, value interface{}) {
	s, ok := value.(string)
	if !ok || !durationText.MatchString(s) {
		c.add(path, reasonBadDuration, `must be a duration string such as "1.5s"`)
	}
}

// date checks a google.type.Date the way the type defines it: year 0-9999, month 0-12,
// day 0-31 (0 meaning "not given"), and a real calendar day when all three are given.
func (c *checker) date(path string, obj map[string]interface{}) {
	part := func(name string) int64 {
		text, _ := numberText(obj[name])
		n, _ := strconv.ParseInt(text, 10, 64)
		return n
	}
	y, m, d := part("year"), part("month"), part("day")
	switch {
	case y < 0 || y > 9999:
		c.add(join(path, "year"), reasonBadDate, "must be between 1 and 9999")
	case m < 0 || m > 12:
		c.add(join(path, "month"), reasonBadDate, "must be between 1 and 12")
	case d < 0 || d > 31:
		c.add(join(path, "day"), reasonBadDate, "must be between 1 and 31")
	case y > 0 && m > 0 && d > 0:
		t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
		if t.Day() != int(d) {
			c.add(path, reasonBadDate, "%04d-%02d-%02d is not a calendar day", y, m, d)
		}
	}
}

// checkQuery checks a GET route's query parameters: each names a field of the request
// (not one already given in the path), a field that is not repeated is given once, and each
// value parses as the field's type. grpc-gateway v1.6 silently ignores unknown names and
// answers a repeated one with nothing found.
func (reg *registry) checkQuery(rt *route, query url.Values) []violation {
	c := &checker{reg: reg}
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		values := query[key]
		if rt.body == "*" {
			c.add(key, reasonUnknownField, "this route takes its fields in the JSON body, not as query parameters")
			continue
		}
		if contains(rt.pathParams, key) {
			c.add(key, reasonPathParamQuery, "is given in the path; do not repeat it as a query parameter")
			continue
		}
		f := reg.fieldPath(rt.input, key)
		if f == nil {
			c.add(key, reasonUnknownField, "is not a query parameter of %s %s", rt.method, rt.template)
			continue
		}
		if len(values) > 1 && f.GetLabel() != descpb.FieldDescriptorProto_LABEL_REPEATED {
			c.add(key, reasonRepeatedParam, "is given %d times; give it once", len(values))
			continue
		}
		for _, v := range values {
			c.queryValue(key, v, f)
		}
	}
	c.violations = append(c.violations, reg.requiredQuery(rt, query)...)
	return c.violations
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fieldPath resolves "a.b.c" (proto names) from the message named typeName.
func (reg *registry) fieldPath(typeName, path string) *descpb.FieldDescriptorProto {
	var f *descpb.FieldDescriptorProto
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			if f.GetType() != descpb.FieldDescriptorProto_TYPE_MESSAGE {
				return nil
			}
			typeName = f.GetTypeName()
		}
		msg := reg.messages[typeName]
		if msg == nil {
			return nil
		}
		f = nil
		for _, candidate := range msg.GetField() {
			if candidate.GetName() == part {
				f = candidate
			}
		}
		if f == nil {
			return nil
		}
	}
	return f
}

// queryValue checks one query parameter value as grpc-gateway will parse it.
func (c *checker) queryValue(path, value string, f *descpb.FieldDescriptorProto) {
	switch f.GetType() {
	case descpb.FieldDescriptorProto_TYPE_STRING:
		return
	case descpb.FieldDescriptorProto_TYPE_BOOL:
		if _, err := strconv.ParseBool(value); err != nil {
			c.add(path, reasonWrongType, "must be true or false")
		}
	case descpb.FieldDescriptorProto_TYPE_ENUM:
		c.enum(path, value, f.GetTypeName())
	case descpb.FieldDescriptorProto_TYPE_MESSAGE:
		if f.GetTypeName() == ".google.protobuf.Timestamp" {
			c.timestamp(path, value)
			return
		}
		c.add(path, reasonWrongType, "cannot be given as a query parameter")
	default:
		c.single(path, value, f)
	}
}

// isRequired says whether the proto marks the field (google.api.field_behavior) = REQUIRED:
// the gateway refuses its absence (or null) before the service sees the request, as the
// OpenAPI file's `required` lists say.
func isRequired(f *descpb.FieldDescriptorProto) bool {
	if f.GetOptions() == nil || !proto.HasExtension(f.GetOptions(), annotations.E_FieldBehavior) {
		return false
	}
	ext, err := proto.GetExtension(f.GetOptions(), annotations.E_FieldBehavior)
	if err != nil {
		return false
	}
	behaviors, _ := ext.([]annotations.FieldBehavior)
	for _, b := range behaviors {
		if b == annotations.FieldBehavior_REQUIRED {
			return true
		}
	}
	return false
}

// requiredQuery names the REQUIRED fields of a GET route that are neither in the path nor
// in the query.
func (reg *registry) requiredQuery(rt *route, query map[string][]string) []violation {
	msg := reg.messages[rt.input]
	if msg == nil || rt.body == "*" {
		return nil
	}
	var out []violation
	for _, f := range msg.GetField() {
		if !isRequired(f) || contains(rt.pathParams, f.GetName()) {
			continue
		}
		if _, given := query[f.GetName()]; !given {
			out = append(out, violation{Field: f.GetName(), Reason: reasonRequired,
				Description: "is required (a query parameter)"})
		}
	}
	return out
}
