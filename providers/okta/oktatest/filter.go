package oktatest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// expr is a parsed filter or search expression.
type expr interface{ eval(u *user) bool }

type orExpr []expr
type andExpr []expr
type cmpExpr struct {
	attr, op string
	val      string
	search   bool // search: case-insensitive values, more attributes and operators
}

func (e orExpr) eval(u *user) bool {
	for _, x := range e {
		if x.eval(u) {
			return true
		}
	}
	return false
}

func (e andExpr) eval(u *user) bool {
	for _, x := range e {
		if !x.eval(u) {
			return false
		}
	}
	return true
}

var timeAttrs = map[string]bool{"lastUpdated": true, "created": true, "activated": true, "statusChanged": true}

// filterAttrs are what Okta's filter parameter accepts (okta-api.md §2.1).
var filterAttrs = map[string]bool{"status": true, "lastUpdated": true, "id": true,
	"profile.login": true, "profile.email": true, "profile.firstName": true, "profile.lastName": true}

func (c cmpExpr) eval(u *user) bool {
	if timeAttrs[c.attr] {
		var t time.Time
		switch c.attr {
		case "lastUpdated":
			t = u.lastUpdated
		case "created":
			t = u.created
		case "activated":
			t = u.activated
		case "statusChanged":
			t = u.statusChanged
		}
		if c.op == "pr" {
			return !t.IsZero()
		}
		if t.IsZero() {
			return false
		}
		v, _ := time.Parse(time.RFC3339Nano, c.val)
		t = t.Truncate(time.Second)
		switch c.op {
		case "eq":
			return t.Equal(v)
		case "gt":
			return t.After(v)
		case "ge":
			return !t.Before(v)
		case "lt":
			return t.Before(v)
		case "le":
			return !t.After(v)
		}
		return false
	}
	have, present := u.attr(c.attr)
	if c.op == "pr" {
		return present
	}
	if !present {
		return false
	}
	want := c.val
	if c.search {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	switch c.op {
	case "eq":
		return have == want
	case "sw":
		return strings.HasPrefix(have, want)
	case "co":
		return strings.Contains(have, want)
	case "gt":
		return have > want
	case "ge":
		return have >= want
	case "lt":
		return have < want
	case "le":
		return have <= want
	}
	return false
}

// attr renders a user attribute as a string for comparison.
func (u *user) attr(name string) (string, bool) {
	switch name {
	case "id":
		return u.id, true
	case "status":
		return u.status, true
	case "type.id":
		return typeID, true
	}
	if k, ok := strings.CutPrefix(name, "profile."); ok {
		switch v := u.prof()[k].(type) {
		case string:
			return v, true
		case bool:
			return strconv.FormatBool(v), true
		case int:
			return strconv.Itoa(v), true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		}
	}
	return "", false
}

// parser reads Okta's expression language: comparisons joined by and/or,
// parentheses, double-quoted values.
type parser struct {
	toks   []string
	pos    int
	search bool
}

// parseExpr parses a filter (search false) or search expression.
func parseExpr(s string, search bool) (expr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, search: search}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return e, nil
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) take() string { t := p.peek(); p.pos++; return t }

func (p *parser) or() (expr, error) {
	var out orExpr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !strings.EqualFold(p.peek(), "or") {
			break
		}
		p.take()
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *parser) and() (expr, error) {
	var out andExpr
	for {
		e, err := p.factor()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !strings.EqualFold(p.peek(), "and") {
			break
		}
		p.take()
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *parser) factor() (expr, error) {
	if p.peek() == "(" {
		p.take()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.take() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return e, nil
	}
	attr := p.take()
	op := strings.ToLower(p.take())
	if attr == "" || op == "" {
		return nil, fmt.Errorf("incomplete expression")
	}
	c := cmpExpr{attr: attr, op: op, search: p.search}
	if !p.search {
		if !filterAttrs[attr] {
			return nil, fmt.Errorf("filter does not support %s", attr)
		}
		if op != "eq" && (attr != "lastUpdated" || (op != "gt" && op != "ge" && op != "lt" && op != "le")) {
			return nil, fmt.Errorf("filter does not support %s %s", attr, op)
		}
	} else {
		switch op {
		case "eq", "sw", "co", "gt", "ge", "lt", "le", "pr":
		default:
			return nil, fmt.Errorf("unknown operator %s", op)
		}
		if !strings.HasPrefix(attr, "profile.") && !timeAttrs[attr] && attr != "id" && attr != "status" && attr != "type.id" {
			return nil, fmt.Errorf("search does not support %s", attr)
		}
	}
	if op == "pr" {
		return c, nil
	}
	v := p.take()
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, fmt.Errorf("value of %s must be double-quoted", attr)
	}
	c.val = v[1 : len(v)-1]
	if timeAttrs[attr] {
		if _, err := time.Parse(time.RFC3339Nano, c.val); err != nil {
			return nil, fmt.Errorf("%s: %q is not a time", attr, c.val)
		}
	}
	return c, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}
