package connector

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDeleteLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in        string
		str       string
		delivered int
		allowed   int
	}{
		{"10%", "10%", 1846, 184},
		{" 25 % ", "25%", 100, 25},
		{"0%", "0%", 1000, 0},
		{"100%", "100%", 7, 7},
		{"500", "500", 10, 500},
		{"0", "0", 10, 0},
		{"none", "none", 10, -1},
		{"NONE", "none", 0, -1},
	}
	for _, c := range cases {
		l, err := ParseDeleteLimit(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if l.String() != c.str || l.Allowed(c.delivered) != c.allowed {
			t.Errorf("%q: %s allows %d of %d, want %s allowing %d", c.in, l, l.Allowed(c.delivered), c.delivered, c.str, c.allowed)
		}
		b, _ := json.Marshal(l)
		var back DeleteLimit
		if err := json.Unmarshal(b, &back); err != nil || back != l {
			t.Errorf("%q: JSON %s reads back as %+v (%v)", c.in, b, back, err)
		}
	}
	for _, bad := range []string{"", "-1", "10.5%", "101%", "ten", "5%%", "-3%"} {
		if _, err := ParseDeleteLimit(bad); err == nil || !strings.Contains(err.Error(), "none") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// A configuration stored before the option existed has the default.
	var c Config
	if err := json.Unmarshal([]byte(`{"id":"c_1","name":"old"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.MaxDeletes.String() != "10%" || c.MaxDeletes.Allowed(1000) != 100 {
		t.Errorf("an old configuration's limit: %s", c.MaxDeletes)
	}
}
