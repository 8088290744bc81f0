package main

// CORS for booking pages: a clinic's website calls the estimate routes straight from the
// visitor's browser, so the gateway must tell the browser which other origins may read its
// answers. Only origins on an explicit allow-list get CORS headers; there is no wildcard, so
// a page on any other site cannot read a quote even when it holds a token.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// corsRoutes are the paths a booking page calls, with the one method each accepts. Every
// other route (rule sets, batches, saved quotes) stays server-to-server: no CORS headers.
var corsRoutes = map[string]string{
	"/v1/estimates:session":       http.MethodPost,
	"/v1/estimates:treatmentPlan": http.MethodPost,
	"/v1/plans":                   http.MethodGet,
}

// corsAllowedHeaders are the request headers a page may send: its quoter token, the JSON body
// and a request id to find the call in the service's log.
const corsAllowedHeaders = "authorization, content-type, x-request-id"

// corsMaxAge lets a browser reuse a preflight answer for ten minutes instead of asking again
// before every quote.
const corsMaxAge = "600"

// parseOrigins reads the comma-separated allow-list. Each entry must be a bare origin
// (scheme://host[:port]); "*" and anything with a path are refused at start-up, so a typo
// cannot silently open the gateway to every site.
func parseOrigins(list string) (map[string]bool, error) {
	origins := map[string]bool{}
	for _, raw := range strings.Split(list, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		if entry == "*" {
			return nil, fmt.Errorf("-cors-origins: \"*\" is not accepted; list each booking site's origin, e.g. https://book.example-clinic.com")
		}
		u, err := url.Parse(entry)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("-cors-origins: %q is not an origin (scheme://host[:port], no path)", entry)
		}
		origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return origins, nil
}

// withCORS wraps the gateway's handler: an allowed origin gets Access-Control-Allow-Origin on
// the booking routes and its preflight answered here (204); any other origin's preflight is
// refused with 403 and no CORS headers, and its plain requests pass through without them (the
// browser then withholds the answer from the page).
func withCORS(next http.Handler, origins map[string]bool) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, booking := corsRoutes[r.URL.Path]
		origin := r.Header.Get("Origin")
		if !booking || origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := origins[strings.ToLower(origin)]
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			w.Header().Add("Vary", "Access-Control-Request-Method")
			w.Header().Add("Vary", "Access-Control-Request-Headers")
			if !allowed || r.Header.Get("Access-Control-Request-Method") != method {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", method)
			h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "x-request-id, retry-after")
		}
		next.ServeHTTP(w, r)
	})
}
