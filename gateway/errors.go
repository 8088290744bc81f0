package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/golang/protobuf/jsonpb"
	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes/any"
	"github.com/grpc-ecosystem/grpc-gateway/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	badRequestType = "type.googleapis.com/google.rpc.BadRequest"
	errorInfoType  = "type.googleapis.com/google.rpc.ErrorInfo"
	serviceDomain  = "massage-estimator"
	gatewayDomain  = "massage-estimator.gateway"
	maxBodyBytes   = 16 << 20 // a rule-set file is the largest body; far below this
)

// statusBody is google.rpc.Status as JSON, the one error shape of every non-2xx answer
// (the service's errors, the gateway's own 400s, 404, 405 and 5xx).
type statusBody struct {
	Code    int32             `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// writeStatus writes a google.rpc.Status JSON body with an HTTP status.
func writeStatus(w http.ResponseWriter, httpStatus int, code codes.Code, message string, details []json.RawMessage) {
	if details == nil {
		details = []json.RawMessage{}
	}
	buf, err := json.Marshal(statusBody{Code: int32(code), Message: message, Details: details})
	if err != nil { // cannot happen: every detail is already valid JSON
		buf = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	w.Header().Del("Trailer")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(buf, '\n'))
}

// badRequest answers 400 with a google.rpc.BadRequest naming every violation and its reason.
func badRequest(w http.ResponseWriter, message string, vs []violation) {
	type fieldViolation struct {
		Field       string `json:"field"`
		Description string `json:"description"`
		Reason      string `json:"reason"`
	}
	out := struct {
		Type            string           `json:"@type"`
		FieldViolations []fieldViolation `json:"field_violations"`
	}{Type: badRequestType}
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		out.FieldViolations = append(out.FieldViolations, fieldViolation(v))
		parts = append(parts, v.Field+": "+v.Description)
	}
	detail, _ := json.Marshal(out)
	info, _ := json.Marshal(errorInfo("INVALID_REQUEST_JSON", gatewayDomain))
	writeStatus(w, http.StatusBadRequest, codes.InvalidArgument,
		message+": "+strings.Join(parts, "; "), []json.RawMessage{detail, info})
}

type errorInfoJSON struct {
	Type   string `json:"@type"`
	Reason string `json:"reason"`
	Domain string `json:"domain"`
}

func errorInfo(reason, domain string) errorInfoJSON {
	return errorInfoJSON{Type: errorInfoType, Reason: reason, Domain: domain}
}

// renderDetails turns the status details (Any) into the JSON the body carries: "@type" and
// the message's fields inline. BadRequest is decoded from the wire here because Debian's Go
// errdetails predates FieldViolation.reason, which the service fills in.
func renderDetails(details []*any.Any) ([]json.RawMessage, bool) {
	out := make([]json.RawMessage, 0, len(details))
	fromService := false
	m := &jsonpb.Marshaler{OrigName: true}
	for _, d := range details {
		if d.GetTypeUrl() == badRequestType {
			if raw, err := badRequestJSON(d.GetValue()); err == nil {
				out = append(out, raw)
				continue
			}
		}
		if d.GetTypeUrl() == errorInfoType {
			info := &errdetails.ErrorInfo{}
			if proto.Unmarshal(d.GetValue(), info) == nil && info.GetDomain() == serviceDomain {
				fromService = true
			}
		}
		var buf bytes.Buffer
		if err := m.Marshal(&buf, d); err != nil {
			raw, _ := json.Marshal(map[string]string{"@type": d.GetTypeUrl()})
			out = append(out, raw)
			continue
		}
		out = append(out, buf.Bytes())
	}
	return out, fromService
}

// badRequestJSON decodes google.rpc.BadRequest (field 1: repeated FieldViolation with
// field=1, description=2, reason=3) straight from the wire.
func badRequestJSON(value []byte) (json.RawMessage, error) {
	type fieldViolation struct {
		Field       string `json:"field"`
		Description string `json:"description"`
		Reason      string `json:"reason"`
	}
	out := struct {
		Type            string           `json:"@type"`
		FieldViolations []fieldViolation `json:"field_violations"`
	}{Type: badRequestType, FieldViolations: []fieldViolation{}}
	err := eachField(value, func(num uint64, raw []byte) error {
		if num != 1 {
			return nil
		}
		var fv fieldViolation
		err := eachField(raw, func(n uint64, b []byte) error {
			switch n {
			case 1:
				fv.Field = string(b)
			case 2:
				fv.Description = string(b)
			case 3:
				fv.Reason = string(b)
			}
			return nil
		})
		out.FieldViolations = append(out.FieldViolations, fv)
		return err
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// eachField calls fn for every length-delimited field of a protobuf message, skipping others.
func eachField(msg []byte, fn func(num uint64, raw []byte) error) error {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return fmt.Errorf("bad field key")
		}
		msg = msg[n:]
		switch wire := key & 7; wire {
		case 0:
			if _, n = binary.Uvarint(msg); n <= 0 {
				return fmt.Errorf("bad varint")
			}
			msg = msg[n:]
		case 1, 5:
			size := 8
			if wire == 5 {
				size = 4
			}
			if len(msg) < size {
				return fmt.Errorf("short fixed field")
			}
			msg = msg[size:]
		case 2:
			length, n := binary.Uvarint(msg)
			if n <= 0 || uint64(len(msg)-n) < length {
				return fmt.Errorf("bad length")
			}
			if err := fn(key>>3, msg[n:n+int(length)]); err != nil {
				return err
			}
			msg = msg[n+int(length):]
		default:
			return fmt.Errorf("unsupported wire type %d", wire)
		}
	}
	return nil
}

// publicMessage is what a client reads for a 5xx the service did not itself describe:
// never the Go or gRPC error text (addresses, internals); that goes to the log.
func publicMessage(httpStatus int) (string, string) {
	switch httpStatus {
	case http.StatusServiceUnavailable:
		return "the estimator service is unavailable; retry shortly", "BACKEND_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "the estimator service did not answer in time; retry shortly", "BACKEND_TIMEOUT"
	case http.StatusNotImplemented:
		return "this operation is not implemented", "NOT_IMPLEMENTED"
	}
	return "internal error: the request could not be completed; the failure was logged", "INTERNAL"
}

// protoErrorHandler writes every error the grpc-gateway mux reports (the service's statuses
// and the gateway's own) as google.rpc.Status JSON. Every 5xx is logged with its cause; the
// client sees the service's own message and details, or a plain public message.
func protoErrorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler,
	w http.ResponseWriter, r *http.Request, err error) {
	s, ok := status.FromError(err)
	if !ok {
		s = status.New(codes.Unknown, err.Error())
	}
	httpStatus := runtime.HTTPStatusFromCode(s.Code())
	details, fromService := renderDetails(s.Proto().GetDetails())
	message := s.Message()
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for k, vs := range md.HeaderMD {
			for _, v := range vs {
				w.Header().Add(runtime.MetadataHeaderPrefix+k, v)
			}
		}
	}
	if httpStatus >= 500 {
		log.Printf("massage-estimator-gateway: %d for %s %s: grpc %s: %s",
			httpStatus, r.Method, r.URL.Path, s.Code(), s.Message())
		if !fromService {
			var reason string
			message, reason = publicMessage(httpStatus)
			info, _ := json.Marshal(errorInfo(reason, gatewayDomain))
			details = []json.RawMessage{info}
		}
	}
	writeStatus(w, httpStatus, s.Code(), message, details)
}

// front is the gateway's entry: it answers 404 and 405 (with Allow) itself, refuses a
// malformed body or query before grpc-gateway sees it, and hands the rest to the mux.
type front struct {
	reg *registry
	mux http.Handler
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, _, allow := f.reg.match(r.Method, r.URL.Path)
	if rt == nil {
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeStatus(w, http.StatusMethodNotAllowed, codes.Unimplemented,
				fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")), nil)
			return
		}
		writeStatus(w, http.StatusNotFound, codes.NotFound,
			fmt.Sprintf("no route %s %s (the routes are in openapi/massage_estimator.swagger.json)", r.Method, r.URL.Path), nil)
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		badRequest(w, "invalid query string", []violation{{Field: "query", Reason: reasonWrongType, Description: err.Error()}})
		return
	}
	if vs := f.reg.checkQuery(rt, query); len(vs) > 0 {
		badRequest(w, "invalid query parameters", vs)
		return
	}
	if rt.body != "" {
		body, err := ioutil.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
				fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes), nil)
			return
		}
		typeName := rt.input
		if rt.body != "*" {
			if fd := f.reg.fieldPath(rt.input, rt.body); fd != nil {
				typeName = fd.GetTypeName()
			}
		}
		if vs := f.reg.checkBody(body, typeName); len(vs) > 0 {
			badRequest(w, "invalid request body", vs)
			return
		}
		// A null member means "not set" (proto3 JSON); jsonpb v1.3 instead sets a oneof
		// member to a nil message for it, which then fails to marshal (a 500). Leave it out.
		if len(bytes.TrimSpace(body)) > 0 {
			if stripped, err := stripNulls(body); err == nil {
				body = stripped
			}
		}
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	f.mux.ServeHTTP(w, r)
}
