// Package simweb is what both providers' simulators answer when a fault
// asks for a web page where the API's JSON was expected: a sign-in page,
// a proxy's or firewall's block page, a captive portal.
package simweb

import "net/http"

// Page writes a small sign-in page with status.
func Page(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign In</title>" +
		"<link rel=\"stylesheet\" href=\"/assets/login.css\"></head>\n<body><main><h1>Sign in to continue</h1>" +
		"<form method=\"post\" action=\"/login\"><input name=\"username\"><input type=\"password\" name=\"password\">" +
		"<button>Sign in</button></form></main></body></html>\n"))
}
