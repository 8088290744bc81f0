package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	"github.com/golang/protobuf/jsonpb"
	"github.com/golang/protobuf/proto"
	"github.com/grpc-ecosystem/grpc-gateway/runtime"
)

// strictJSONPb is grpc-gateway's JSONPb marshaler, except that a request body with a field
// the API does not have is refused (400 INVALID_ARGUMENT naming the field) instead of being
// ignored. v1.6 ignores unknown fields, so a portal's typo ("deductible_mett") would silently
// price the session as if nothing was met: a wrong estimate with no warning.
type strictJSONPb struct {
	runtime.JSONPb
}

func newMarshaler() *strictJSONPb {
	// Proto field names (OrigName) so REST bodies match the CLI's --json; EmitDefaults so a
	// zero amount or a false flag is shown, never silently missing.
	return &strictJSONPb{runtime.JSONPb{OrigName: true, EmitDefaults: true}}
}

// Marshal is JSONPb's, without the `null` EmitDefaults writes for an unset message field
// (estimate.rule_version, benefit_period, effective_to, ...): an unset message is absent,
// so the OpenAPI file can say "this object, or the key is missing" and mean it.
func (m *strictJSONPb) Marshal(v interface{}) ([]byte, error) {
	buf, err := m.JSONPb.Marshal(v)
	if err != nil {
		return nil, err
	}
	return stripNulls(buf)
}

// stripNulls drops every object member whose value is null, keeping the order of the rest.
func stripNulls(in []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var out bytes.Buffer
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if err := copyJSON(dec, &out, tok); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func copyJSON(dec *json.Decoder, out *bytes.Buffer, tok json.Token) error {
	switch t := tok.(type) {
	case json.Delim:
		closing := byte('}')
		if t == '[' {
			closing = ']'
		}
		out.WriteByte(byte(t))
		first := true
		for dec.More() {
			next, err := dec.Token()
			if err != nil {
				return err
			}
			if t == '{' {
				value, err := dec.Token()
				if err != nil {
					return err
				}
				if value == nil {
					continue // an unset message field: leave the key out
				}
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := writeScalar(out, next); err != nil {
					return err
				}
				out.WriteByte(':')
				next = value
			} else {
				if !first {
					out.WriteByte(',')
				}
				first = false
			}
			if err := copyJSON(dec, out, next); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		out.WriteByte(closing)
		return nil
	default:
		return writeScalar(out, tok)
	}
}

func writeScalar(out *bytes.Buffer, tok json.Token) error {
	switch t := tok.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case json.Number:
		out.WriteString(t.String())
	case string:
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return err
		}
		out.Truncate(out.Len() - 1) // Encode appends a newline
	default:
		return fmt.Errorf("unexpected JSON token %v", tok)
	}
	return nil
}

// Unmarshal decodes one JSON value into v, refusing unknown fields.
func (m *strictJSONPb) Unmarshal(data []byte, v interface{}) error {
	return m.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// NewDecoder returns a decoder that refuses unknown fields in proto messages.
func (m *strictJSONPb) NewDecoder(r io.Reader) runtime.Decoder {
	d := json.NewDecoder(r)
	strict := &jsonpb.Unmarshaler{AllowUnknownFields: false}
	return runtime.DecoderFunc(func(v interface{}) error {
		if p, ok := v.(proto.Message); ok {
			return strict.UnmarshalNext(d, p)
		}
		// body: "field" decodes into a pointer to the field's message pointer.
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Ptr && rv.Elem().Kind() == reflect.Ptr {
			if rv.Elem().IsNil() {
				rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
			}
			if p, ok := rv.Elem().Interface().(proto.Message); ok {
				return strict.UnmarshalNext(d, p)
			}
		}
		// Anything else (scalars, maps of a path or body field) as grpc-gateway does it.
		return runtime.DecoderWrapper{Decoder: d}.Decode(v)
	})
}
