package oktatest

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"neurons-connector/internal/jsonstr"
)

// Rendering is hand-written: a page of 200 users is the simulator's hot
// path in benchmarks, and reflection-based encoding of maps would make the
// simulator, not the client, the thing measured.

const tsFormat = "2006-01-02T15:04:05.000Z"

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = appendStamp(b, t.UTC())
	return append(b, '"')
}

// appendStamp appends t (in UTC) as tsFormat does. Written out digit by
// digit: a page carries some twenty timestamps per user, and the layout
// interpreter of AppendFormat made them a tenth of the simulator's CPU in
// a benchmark, CPU taken from the connector measured beside it.
func appendStamp(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, tsFormat)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s) }

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case rawJSON:
		return append(b, x...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, x[k])
		}
		return append(b, '}')
	}
	data, _ := json.Marshal(v)
	return append(b, data...)
}

// appendUser writes a user object as Okta's list (full=false) or get
// (full=true) returns it; omitCreds follows okta-response=omitCredentials.
func (s *Server) appendUser(b []byte, u *user, base string, full, omitCreds bool) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, u.id)
	b = append(b, `,"status":`...)
	b = appendString(b, u.status)
	b = append(b, `,"created":`...)
	b = appendTime(b, u.created)
	b = append(b, `,"activated":`...)
	b = appendTime(b, u.activated)
	b = append(b, `,"statusChanged":`...)
	b = appendTime(b, u.statusChanged)
	b = append(b, `,"lastLogin":`...)
	b = appendTime(b, u.lastLogin)
	b = append(b, `,"lastUpdated":`...)
	b = appendTime(b, u.lastUpdated)
	b = append(b, `,"passwordChanged":`...)
	b = appendTime(b, u.passwordChgd)
	b = append(b, `,"realmId":"guo1bfiNtSnZYILxO0g4","type":{"id":"`+typeID+`"},"profile":`...)
	if u.profile != nil {
		b = appendValue(b, u.profile)
	} else { // a generated user: straight from the generator, in key order
		b = append(b, '{')
		for k, f := range u.t.profileFields(u.idx) {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendValue(b, f.v)
		}
		b = append(b, '}')
	}
	if !omitCreds {
		provider := `{"type":"OKTA","name":"OKTA"}`
		if u.status == "STAGED" {
			b = append(b, `,"credentials":{"provider":`+provider+`}`...)
		} else {
			b = append(b, `,"credentials":{"password":{},"provider":`+provider+`}`...)
		}
	}
	self := base + "/api/v1/users/" + u.id
	b = append(b, `,"_links":{"self":{"href":`...)
	b = appendString(b, self)
	b = append(b, '}')
	if full {
		for _, l := range []string{"suspend", "resetPassword", "expirePassword", "deactivate"} {
			b = append(b, `,"`+l+`":{"href":`...)
			b = appendString(b, self+"/lifecycle/"+l)
			b = append(b, `,"method":"POST"}`...)
		}
		b = append(b, `,"schema":{"href":`...)
		b = appendString(b, base+"/api/v1/meta/schemas/user/osc1")
		b = append(b, `},"type":{"href":`...)
		b = appendString(b, base+"/api/v1/meta/types/user/"+typeID)
		b = append(b, '}')
		if !omitCreds {
			b = append(b, `,"changePassword":{"href":`...)
			b = appendString(b, self+"/credentials/change_password")
			b = append(b, `,"method":"POST"}`...)
		}
	}
	return append(b, `}}`...)
}
