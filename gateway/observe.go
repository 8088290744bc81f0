package main

// What the gateway tells an operator: one log line per request (JSON with
// MASSAGE_ESTIMATOR_LOG_FORMAT=json, as the service writes them), and the request id that
// ties a REST call to the service's own log line. The id comes from the caller's
// X-Request-Id header when it looks like an id, or is made here; it is sent to the service
// as `x-request-id` gRPC metadata and returned in the X-Request-Id response header.
// Never the body or the query: they hold diagnosis codes and dates of service.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/metadata"
)

const requestIDHeader = "X-Request-Id"

// validRequestID matches the service's rule (service/api/observability.py): anything else
// is replaced, so a caller cannot forge log content.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}$`)

// logger writes one line per record, JSON or text, to one stream; safe for concurrent use.
type logger struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
}

func newLogger(out io.Writer, format string) (*logger, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text":
		return &logger{out: out}, nil
	case "json":
		return &logger{out: out, json: true}, nil
	}
	return nil, fmt.Errorf("log format must be text or json, not %q", format)
}

// log writes a record: level INFO/WARNING/ERROR, the logger's name, the message and fields.
func (l *logger) log(level, name, message string, fields map[string]interface{}) {
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	var line string
	if l.json {
		entry := map[string]interface{}{"ts": ts, "level": level, "logger": name, "message": message}
		for key, value := range fields {
			entry[key] = value
		}
		encoded, err := json.Marshal(entry)
		if err != nil {
			encoded, _ = json.Marshal(map[string]interface{}{"ts": ts, "level": "ERROR", "logger": name, "message": err.Error()})
		}
		line = string(encoded)
	} else {
		keys := make([]string, 0, len(fields))
		for key := range fields {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		parts := []string{ts, level, name + ":", message}
		for _, key := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", key, fields[key]))
		}
		line = strings.Join(parts, " ")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.out, line)
}

// requestID is the caller's X-Request-Id when it is a plausible id, else a new random one.
func requestID(r *http.Request) string {
	if id := strings.TrimSpace(r.Header.Get(requestIDHeader)); validRequestID.MatchString(id) {
		return id
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Sprintf("%032x", time.Now().UnixNano())
	}
	return hex.EncodeToString(raw[:])
}

// requestIDMetadata is the mux's metadata annotator: the id withRequestLog put on the request
// travels to the service as `x-request-id`.
func requestIDMetadata(_ context.Context, r *http.Request) metadata.MD {
	return metadata.Pairs("x-request-id", r.Header.Get(requestIDHeader))
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// withRequestLog sets the request id (request and response headers), serves the request,
// then logs one access line and feeds the metrics (observe may be nil).
func withRequestLog(next http.Handler, l *logger, observe func(method string, status int, seconds float64)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r)
		r.Header.Set(requestIDHeader, id)
		w.Header().Set(requestIDHeader, id)
		recorder := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(recorder, r)
		seconds := time.Since(start).Seconds()
		if recorder.status == 0 {
			recorder.status = http.StatusOK
		}
		if observe != nil {
			observe(r.Method, recorder.status, seconds)
		}
		level := "INFO"
		if r.URL.Path == "/healthz" {
			return // probed every few seconds; its failures show in the metrics and /healthz
		}
		l.log(level, "gateway.access", fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, recorder.status), map[string]interface{}{
			"http_method": r.Method,
			"path":        r.URL.Path,
			"status":      recorder.status,
			"duration_ms": float64(int64(seconds*1e6)) / 1000,
			"request_id":  id,
		})
	})
}

// grpcLogger routes grpc-go's own log lines through the gateway's logger (so in JSON mode
// every line is JSON). Like grpc-go's default logger it writes only errors unless
// GRPC_GO_LOG_SEVERITY_LEVEL is "warning" or "info".
type grpcLogger struct {
	l       *logger
	info    bool
	warning bool
}

func installGrpcLogger(l *logger) {
	level := strings.ToLower(os.Getenv("GRPC_GO_LOG_SEVERITY_LEVEL"))
	grpclog.SetLoggerV2(&grpcLogger{l: l, info: level == "info", warning: level == "info" || level == "warning"})
}

func (g *grpcLogger) emit(level string, enabled bool, text string) {
	if enabled {
		g.l.log(level, "grpc", strings.TrimSpace(text), nil)
	}
}

func (g *grpcLogger) Info(args ...interface{})   { g.emit("INFO", g.info, fmt.Sprint(args...)) }
func (g *grpcLogger) Infoln(args ...interface{}) { g.emit("INFO", g.info, fmt.Sprintln(args...)) }
func (g *grpcLogger) Infof(f string, args ...interface{}) {
	g.emit("INFO", g.info, fmt.Sprintf(f, args...))
}
func (g *grpcLogger) Warning(args ...interface{}) { g.emit("WARNING", g.warning, fmt.Sprint(args...)) }
func (g *grpcLogger) Warningln(args ...interface{}) {
	g.emit("WARNING", g.warning, fmt.Sprintln(args...))
}
func (g *grpcLogger) Warningf(f string, args ...interface{}) {
	g.emit("WARNING", g.warning, fmt.Sprintf(f, args...))
}
func (g *grpcLogger) Error(args ...interface{})   { g.emit("ERROR", true, fmt.Sprint(args...)) }
func (g *grpcLogger) Errorln(args ...interface{}) { g.emit("ERROR", true, fmt.Sprintln(args...)) }
func (g *grpcLogger) Errorf(f string, args ...interface{}) {
	g.emit("ERROR", true, fmt.Sprintf(f, args...))
}
func (g *grpcLogger) Fatal(args ...interface{}) {
	g.emit("CRITICAL", true, fmt.Sprint(args...))
	os.Exit(1)
}
func (g *grpcLogger) Fatalln(args ...interface{}) {
	g.emit("CRITICAL", true, fmt.Sprintln(args...))
	os.Exit(1)
}
func (g *grpcLogger) Fatalf(f string, args ...interface{}) {
	g.emit("CRITICAL", true, fmt.Sprintf(f, args...))
	os.Exit(1)
}
func (g *grpcLogger) V(level int) bool { return level <= 0 && g.info }
