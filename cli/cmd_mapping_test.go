package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMappingExportAndCheck(t *testing.T) {
	h := newHarness(t)
	out := filepath.Join(t.TempDir(), "okta.csv")
	r := h.mustRun("mapping", "export", "OKTA", "-o", out)
	if !strings.Contains(r.stdout, "Wrote the okta table from okta.csv (built in)") {
		t.Errorf("stdout = %q", r.stdout)
	}
	exported, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := os.ReadFile("../mappings/okta.csv")
	if string(exported) != string(builtin) {
		t.Error("export of the built-in table differs from mappings/okta.csv")
	}
	if r := h.mustRun("mapping", "check", out); !strings.Contains(r.stdout, "OK, 39 rows (type okta)") {
		t.Errorf("check = %q", r.stdout)
	}
	// A spreadsheet-saved copy passes; its name says nothing, its content tells the type.
	if r := h.mustRun("mapping", "check", "../testdata/mapping/check/spreadsheet-okta.csv"); !strings.Contains(r.stdout, "(type okta)") {
		t.Errorf("spreadsheet check = %q", r.stdout)
	}
	r = h.run("mapping", "check", "../testdata/mapping/check/broken-okta.csv")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 2 || len(lines) != 14 || !strings.Contains(lines[13], "13 problems") {
		t.Fatalf("broken check: exit %d, %d lines:\n%s", r.code, len(lines), r.stderr)
	}
	for _, l := range lines[:13] {
		if !strings.HasPrefix(l, "../testdata/mapping/check/broken-okta.csv:") {
			t.Errorf("problem line without FILE:LINE: %q", l)
		}
	}
	// A row that reads what the connector never fills: OK, exit 0, and a
	// warning on stderr with its line, which a run records too.
	serials := filepath.Join(t.TempDir(), "imeis.csv")
	if err := os.WriteFile(serials, append(exported, []byte("Application.Okta.IMEIs,devices.profile.imei,list,\n")...), 0o600); err != nil { //nolint:gosec // G703: the test's own temporary folder
		t.Fatal(err)
	}
	r = h.run("mapping", "check", serials)
	if r.code != 0 || !strings.Contains(r.stdout, "OK, 40 rows (type okta)") ||
		!strings.Contains(r.stderr, "imeis.csv:41: warning: source devices.profile.imei stays empty") {
		t.Errorf("check with a row that stays empty: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The export of a OneLogin table checks as OneLogin by its content.
	ol := filepath.Join(t.TempDir(), "mine.csv")
	h.mustRun("mapping", "export", "onelogin", "-o", ol)
	if r := h.mustRun("mapping", "check", ol); !strings.Contains(r.stdout, "(type onelogin)") {
		t.Errorf("onelogin check = %q", r.stdout)
	}
}

func TestMappingOverridesPerConnector(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	h.env["NC_MAPPINGS_DIR"] = dir
	h.addOkta("Okta prod")
	table := "target,source,transform,notes\nUser.Email,profile.email,lower,prod only\n"
	if err := os.WriteFile(filepath.Join(dir, "Okta prod.csv"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := h.mustRun("mapping", "export", "okta prod"); r.stdout != table {
		t.Errorf("connector export = %q", r.stdout)
	}
	if r := h.mustRun("mapping", "export", "okta"); !strings.Contains(r.stdout, "User.FirstName") {
		t.Error("the type export should still be the built-in table")
	}
	// The connector's file name tells check its type.
	if r := h.mustRun("mapping", "check", filepath.Join(dir, "Okta prod.csv")); !strings.Contains(r.stdout, "(type okta)") {
		t.Errorf("check by connector name = %q", r.stdout)
	}
	if err := os.WriteFile(filepath.Join(dir, "okta.csv"), []byte("target,source,transform,notes\nUser.Emial,profile.email,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.run("mapping", "export", "okta")
	if r.code != 2 || !strings.Contains(r.stderr, filepath.Join(dir, "okta.csv")+":2: unknown target User.Emial") {
		t.Errorf("broken override: exit %d, %q", r.code, r.stderr)
	}
}

// A rename that would leave the connector's own table behind (it goes by
// the connector's name) is refused, changing nothing: the connector would
// have mapped every user with its type's table from the next run on. With
// the table copied to the new name first, the rename goes through and the
// table still applies.
func TestARenameKeepsTheConnectorsOwnTable(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	h.env["NC_MAPPINGS_DIR"] = dir
	h.addOkta("Okta test")
	table := "target,source,transform,notes\nUser.Email,profile.email,lower,this connector's\n"
	// Found without regard to case, as the connector's name is.
	if err := os.WriteFile(filepath.Join(dir, "okta test.csv"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	before := h.snapshot()
	r := h.run("connector", "edit", "Okta test", "--name", "Okta prod")
	want := `connector "Okta test" has its own mapping table ` + filepath.Join(dir, "okta test.csv") + `, which goes by the connector's name: ` +
		`renamed "Okta prod", it would map its users with its type's table instead; copy the table to ` + filepath.Join(dir, "Okta prod.csv") + " first"
	stderr := r.stderr
	if runtime.GOOS == "windows" { // its names are one file in any case: the table may be named as the connector is
		stderr, want = strings.ToLower(stderr), strings.ToLower(want)
	}
	if r.code != 2 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d: %q", r.code, r.stderr)
	}
	if after := h.snapshot(); after["neurons-connector.db"] != before["neurons-connector.db"] {
		t.Error("the refused rename changed the database")
	}
	// A change of case alone keeps the table.
	h.mustRun("connector", "edit", "Okta test", "--name", "OKTA test")
	if err := os.WriteFile(filepath.Join(dir, "Okta prod.csv"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	h.mustRun("connector", "edit", "OKTA test", "--name", "Okta prod")
	if r := h.mustRun("mapping", "export", "Okta prod"); r.stdout != table {
		t.Errorf("the table after the rename: %q", r.stdout)
	}
}

func TestMappingBadInput(t *testing.T) {
	h := newHarness(t)
	// A spreadsheet's "Unicode Text" (UTF-16) or an empty file, named so
	// that the type must come from the content: what is wrong with the file,
	// not "cannot tell which connector type".
	dir := t.TempDir()
	utf16 := filepath.Join(dir, "edited.csv")
	if err := os.WriteFile(utf16, []byte("\xff\xfet\x00a\x00r\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "blank.csv")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"mapping", "export", "nobody"}, "nobody"},
		{[]string{"mapping", "export"}, "a connector type (okta, onelogin) or a connector's NAME"},
		{[]string{"mapping", "check", "/no/such.csv"}, "/no/such.csv"},
		{[]string{"mapping", "check", "../testdata/mapping/check/broken-okta.csv", "--type", "azure"}, "--type"},
		{[]string{"mapping", "check", "../testdata/mapping/check/semicolon-okta.csv"}, "';' as its separator"},
		{[]string{"mapping", "check", utf16}, "the file is UTF-16; save it as \"CSV UTF-8\""},
		{[]string{"mapping", "check", empty}, "the file is empty"},
	} {
		r := h.run(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.names) {
			t.Errorf("%v: exit %d, %q", tc.args, r.code, r.stderr)
		}
	}
}
