package mapping

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scalar renders a JSON scalar as a string; absent, null, empty and
// non-scalar values report false.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), true // IDs and counts: the fast, exact path
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// fieldOf renders a copied value for a target of kind (or "" for
// Application.* attributes): arrays become lists, objects compact JSON, and a
// list copied into a string attribute is joined with "; ".
func fieldOf(v any, kind Kind) (Field, bool) {
	var f Field
	if s, ok := v.(string); ok && kind != KindList && kind != KindInteger {
		f.Str = s // the common case, first
		return f, s != ""
	}
	switch x := v.(type) {
	case nil:
		return f, false
	case []any:
		f.List = make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := scalar(e); ok {
				f.List = append(f.List, s)
			} else if e != nil {
				b, _ := json.Marshal(e)
				f.List = append(f.List, string(b))
			}
		}
		if len(f.List) == 0 {
			return f, false
		}
		if kind == KindString || kind == KindInteger {
			f.Str, f.List = strings.Join(f.List, "; "), nil
		}
		return f, true
	case map[string]any:
		if len(x) == 0 {
			return f, false
		}
		b, _ := json.Marshal(x)
		f.Str = string(b)
	default:
		s, ok := scalar(x)
		if !ok {
			return f, false
		}
		f.Str = s
	}
	switch kind {
	case KindList:
		f.List, f.Str = []string{f.Str}, ""
	case KindInteger:
		if _, err := strconv.ParseInt(f.Str, 10, 64); err != nil {
			return f, false // "3.5" or "n/a" is no integer: omit rather than mislead
		}
	}
	return f, true
}

func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	out := in[:0]
	for i, s := range in {
		if !slices.Contains(in[:i], s) {
			out = append(out, s)
		}
	}
	return out
}

// timestampLayouts are the forms providers write times in.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00", // OneLogin's created_at example
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05.999999999", // no zone: taken as UTC
	"2006-01-02 15:04:05",
	time.DateOnly,
}

// timestampOut is the ingestion contract's format: RFC 3339, UTC, milliseconds.
const timestampOut = "2006-01-02T15:04:05.000Z"

// normTimestamp normalises a provider time; an unreadable one is omitted.
func normTimestamp(s string) string {
	if canonical(s) {
		return s // Okta's and OneLogin's usual form: no parsing, no allocation
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(timestampOut)
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e11 { // milliseconds since the epoch
			return time.UnixMilli(n).UTC().Format(timestampOut)
		}
		return time.Unix(n, 0).UTC().Format(timestampOut)
	}
	return ""
}

// canonical reports whether s is already a valid time in timestampOut's
// form. Every time of every user goes through it (five a user with the
// default Okta table): the separators are compared in place and each field
// read once, instead of a switch on every byte.
func canonical(s string) bool {
	if len(s) != len(timestampOut) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return false
	}
	y, mo, d := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	h, mi, sec, ms := digits(s[11:13]), digits(s[14:16]), digits(s[17:19]), digits(s[20:23])
	if y < 0 || ms < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[mo-1]
	if mo == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// digits reads a field of decimal digits, or returns -1 if a byte is not one.
func digits(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0' // a byte below '0' wraps above 9
		if c > 9 {
			return -1
		}
		v = v*10 + int(c)
	}
	return v
}

func normBool(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "on":
		return "true"
	case "false", "0", "no", "n", "off":
		return "false"
	}
	return ""
}
