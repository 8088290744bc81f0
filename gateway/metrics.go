package main

// Prometheus metrics of the gateway on their own listener (-metrics-listen, env
// MASSAGE_ESTIMATOR_GATEWAY_METRICS_LISTEN; off when empty), from Debian's
// golang-github-prometheus-client-golang-dev. Labels are the HTTP method and status code
// only: paths carry quote and plan ids, which would make one series per id.

import (
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type gatewayMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newGatewayMetrics() *gatewayMetrics {
	m := &gatewayMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "REST requests answered by the gateway, by HTTP method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "Time to answer a REST request, the gRPC call behind it included.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"method"}),
	}
	m.registry.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *gatewayMetrics) observe(method string, status int, seconds float64) {
	m.requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method).Observe(seconds)
}

// serve starts /metrics on listen and returns the address it got (port 0 picks one).
func (m *gatewayMetrics) serve(listen string, l *logger) (net.Addr, error) {
	listener, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	go func() {
		if err := http.Serve(listener, mux); err != nil {
			l.log("ERROR", "gateway", "metrics listener stopped: "+err.Error(), nil)
		}
	}()
	return listener.Addr(), nil
}
