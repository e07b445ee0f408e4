// Package webpage recognises a web page (HTML) that answered where an
// API's JSON was expected, and names it for a message by its title.
package webpage

import (
	"mime"
	"net/http"
	"strings"
	"unicode"
)

// Is reports whether an answer is a web page (HTML): a sign-in page,
// another site, a proxy's or firewall's block page, a captive portal,
// where an API's JSON was expected.
func Is(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// Title is what a message quotes of a web page: its title, else its
// first words, at most 60 characters of text.
func Title(body []byte) string {
	text := string(body)
	if i := strings.Index(strings.ToLower(text), "<title"); i >= 0 {
		if j := strings.IndexByte(text[i:], '>'); j >= 0 {
			text = text[i+j+1:]
			if k := strings.Index(strings.ToLower(text), "</title"); k >= 0 {
				text = text[:k]
			}
		}
	}
	var b strings.Builder
	inTag := false
	for _, r := range text {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag && unicode.IsPrint(r):
			b.WriteRune(r)
		case !inTag:
			b.WriteByte(' ')
		}
	}
	words := strings.Join(strings.Fields(b.String()), " ")
	if words == "" {
		return "no title"
	}
	if r := []rune(words); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return words
}
