package main

import (
	"bytes"
	"encoding/json"
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
