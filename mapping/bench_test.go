package mapping_test

import (
	"os"
	"testing"

	"neurons-connector/mapping"

	"neurons-connector/connector"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
)

// BenchmarkApplyOkta maps the realistic Okta user of testdata/mapping/okta-full
// (profile with custom attributes, three devices, two apps, a manager) with
// the default Okta table. Target: at most 3 µs and a bounded number of
// allocations per user (README, "Performance").
func BenchmarkApplyOkta(b *testing.B) { benchApply(b, okta.Kind, "okta-full") }

// BenchmarkApplyOneLogin does the same with the default OneLogin table.
func BenchmarkApplyOneLogin(b *testing.B) { benchApply(b, onelogin.Kind, "onelogin-full") }

func benchApply(b *testing.B, k connector.Kind, c string) {
	table, err := NewSourceMust(b).Load(k, "")
	if err != nil {
		b.Fatal(err)
	}
	var user map[string]any
	readJSON(b, caseDir+"/"+c+"/user.json", &user)
	var dir mapDir
	readJSON(b, caseDir+"/"+c+"/directory.json", &dir)
	b.Run("Apply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			table.Apply(user, dir)
		}
	})
	b.Run("AppendTo", func(b *testing.B) {
		b.ReportAllocs()
		var rec mapping.Record
		for b.Loop() {
			rec = table.AppendTo(rec, user, dir)
		}
	})
}

func NewSourceMust(b *testing.B) *mapping.Source {
	src, err := mapping.NewSource(specs, os.DirFS("../mappings"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return src
}
