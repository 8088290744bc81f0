package main

// The booking-page widget (gateway/widget/): one plain JavaScript file defining the
// <massage-price-check> element and a demo page, embedded in the binary so the script a
// clinic's page loads always matches the gateway's API version.

import (
	"embed"
	"io/fs"
	"net/http"
)

// widgetPrefix is the stable path clinics embed: /widget/v1/massage-price-check.js. A change
// that breaks pages gets /widget/v2/, never an edit of v1's contract.
const widgetPrefix = "/widget/v1/"

//go:embed widget/*.js widget/*.html
var widgetFiles embed.FS

// widgetHandler serves the embedded files under widgetPrefix to any origin: a module script
// is fetched in CORS mode, and the files are public (no token, no data). Only the API routes
// are limited to the -cors-origins allow-list.
func widgetHandler() http.Handler {
	sub, err := fs.Sub(widgetFiles, "widget")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory exists
	}
	files := http.StripPrefix(widgetPrefix, http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
