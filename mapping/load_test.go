package mapping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"neurons-connector/mapping"

	"neurons-connector/connector"
	"neurons-connector/providers/okta"
	"neurons-connector/providers/onelogin"
)

const checkDir = "../testdata/mapping/check"

func parseFile(t *testing.T, name string) (*mapping.Table, error) {
	t.Helper()
	data, err := os.ReadFile(checkDir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return mapping.Parse(builtinSource(t).Catalog, okta.Spec, name, data)
}

// A spreadsheet saves empty columns beyond the table when a cell there
// was ever used, and empty rows below it: the table loads without them.
func TestEmptyColumnsBeyondTheTableAreIgnored(t *testing.T) {
	got, err := parseFile(t, "usedrange-okta.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows := got.Rows(); len(rows) != 2 || rows[1].Target != "User.Email" || rows[1].Source != "profile.email" {
		t.Errorf("rows %+v", rows)
	}
}

// Excel for Mac's "CSV (Macintosh)" ends lines with CR alone.
func TestLinesEndedByCRAloneLoad(t *testing.T) {
	got, err := parseFile(t, "cr-okta.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows := got.Rows(); len(rows) != 2 || rows[1].Target != "User.Email" {
		t.Errorf("rows %+v", rows)
	}
}

func TestSpreadsheetSavedTableLoads(t *testing.T) {
	got, err := parseFile(t, "spreadsheet-okta.csv")
	if err != nil {
		t.Fatalf("a table saved by a spreadsheet (BOM, CRLF, quoted commas, capitalised header, empty row) fails:\n%v", err)
	}
	builtin, err := builtinSource(t).Load(okta.Kind, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != builtin.Hash() {
		t.Error("the same rows saved differently hash differently; the engine would force a needless full run")
	}
	if r := got.Rows()[2]; r.Target != "User.FullName" || r.Transform != "join( )" || r.Notes != "first and last name joined by a space" {
		t.Errorf("row 3 read as %+v", r)
	}
}

func TestEveryProblemIsReportedWithItsLine(t *testing.T) {
	_, err := parseFile(t, "broken-okta.csv")
	var ps mapping.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	want := []struct {
		line int
		text string
	}{
		{3, "unknown target User.Fistname"},
		{3, "did you mean User.FirstName?"},
		{4, `unknown transform "lowercase"`},
		{5, "transform join takes one argument: join(SEP)"},
		{6, "duplicate target User.Email (first on line 4)"},
		{7, "use the transform timestamp"},
		{8, `"profle" is not a field of an Okta user`},
		{9, "belongs to another provider"},
		{10, "a wildcard row maps SOURCE.*"},
		{11, "transform lower takes one source; got 2"},
		{12, "manager(fax): the field must be one of name, email, phone"},
		{13, "the source is empty"},
		{14, "transform upper takes no argument"},
		{15, "quoted value is not closed"},
	}
	text := err.Error()
	for _, w := range want {
		found := false
		for _, p := range ps {
			found = found || (p.Line == w.line && strings.Contains(p.Msg, w.text))
		}
		if !found {
			t.Errorf("no problem %q on line %d in:\n%s", w.text, w.line, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "broken-okta.csv:") {
			t.Errorf("problem line without FILE:LINE: %q", line)
		}
	}
}

func TestFileLevelProblems(t *testing.T) {
	cases := map[string]string{
		"semicolon-okta.csv": "broken: semicolon-okta.csv:1: the file uses ';' as its separator",
		"tab-okta.csv":       "tab-okta.csv:1: the file uses tabs as its separator",
		"unnamed-okta.csv":   "unnamed-okta.csv:3: a value in a column without a header",
		"latin1-okta.csv":    "latin1-okta.csv:3: the file is not UTF-8",
		"header-okta.csv":    `header-okta.csv:1: missing column notes; unknown column "comment"; the header must be target,source,transform,notes`,
		"fields-okta.csv":    "fields-okta.csv:2: the row has a different number of fields",
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			_, err := parseFile(t, file)
			want = strings.TrimPrefix(want, "broken: ")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
	cat := builtinSource(t).Catalog
	for name, data := range map[string]string{
		"utf16":         "\xff\xfet\x00a\x00",
		"utf16 no mark": "t\x00a\x00r\x00g\x00e\x00t\x00,\x00s\x00o\x00u\x00r\x00c\x00e\x00\r\x00\n\x00",
		"empty":         "\ufeff \r\n",
		"no rows":       "target,source,transform,notes\n",
	} {
		_, err := mapping.Parse(cat, okta.Spec, name, []byte(data))
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.HasPrefix(name, "utf16") && !strings.Contains(err.Error(), "the file is UTF-16") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := mapping.Parse(cat, onelogin.Spec, "x.csv", []byte("target,source,transform,notes\nUser.Status,status,state,\nUser.City,profile.city,,\n")); err == nil ||
		!strings.Contains(err.Error(), `"profile" is not a field of a OneLogin user`) {
		t.Errorf("onelogin field check: %v", err)
	}
	if _, err := mapping.Parse(cat, okta.Spec, "x.csv", []byte("target,source,transform,notes\nUser.AccountState,status,state,\n")); err == nil ||
		!strings.Contains(err.Error(), "transform state needs users with a state; an Okta user has none") {
		t.Errorf("state on okta: %v", err)
	}
}

func TestExportLoadsBackUnchanged(t *testing.T) {
	src := builtinSource(t)
	for _, sp := range specs {
		k := sp.Kind
		table, err := src.Load(k, "")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := table.Export(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := mapping.Parse(src.Catalog, sp, "export.csv", buf.Bytes())
		if err != nil {
			t.Fatalf("%s export does not load: %v", k, err)
		}
		if back.Hash() != table.Hash() || len(back.Rows()) != len(table.Rows()) {
			t.Errorf("%s: export changed the table", k)
		}
		orig, _ := os.ReadFile("../mappings/" + string(k) + ".csv")
		if !bytes.Equal(orig, buf.Bytes()) {
			t.Errorf("%s: export differs from the file it came from:\n%s", k, buf.String())
		}
	}
}

func TestOverridesAndLastGoodTable(t *testing.T) {
	builtin := os.DirFS("../mappings")
	good := "target,source,transform,notes\nUser.Email,profile.email,lower,\n"
	overrides := fstest.MapFS{
		"okta.csv":      {Data: []byte(good)},
		"Okta prod.csv": {Data: []byte("target,source,transform,notes\nUser.Email,profile.email,upper,\n")},
	}
	src, err := mapping.NewSource(specs, builtin, overrides)
	if err != nil {
		t.Fatal(err)
	}
	user := map[string]any{"profile": map[string]any{"email": "Ada@Example.com"}}
	email := func(tb *mapping.Table) string { f, _ := tb.Apply(user, nil).Get("User.Email"); return f.Str }

	k := mapping.NewKeeper(src)
	prod, err := k.Table(okta.Kind, "c1", "Okta prod")
	if err != nil || email(prod) != "ADA@EXAMPLE.COM" || prod.File != "Okta prod.csv" {
		t.Fatalf("connector override: %v %v", prod, err)
	}
	other, err := k.Table(okta.Kind, "c2", "Okta test")
	if err != nil || email(other) != "ada@example.com" || other.File != "okta.csv" {
		t.Fatalf("type override: %v", err)
	}
	one, err := k.Table(onelogin.Kind, "c3", "OneLogin")
	if err != nil || one.File != "onelogin.csv (built in)" {
		t.Fatalf("built-in: %v %v", one, err)
	}

	// An edit that breaks the file keeps the last good table and reports why.
	overrides["Okta prod.csv"] = &fstest.MapFile{Data: []byte("target,source,transform,notes\nUser.Email,profile.email,uper,\n")}
	kept, err := k.Table(okta.Kind, "c1", "Okta prod")
	if err == nil || !strings.Contains(err.Error(), "Okta prod.csv:2: unknown transform") {
		t.Fatalf("broken override error = %v", err)
	}
	if kept != prod {
		t.Fatal("the broken table replaced the last good one")
	}
	// A connector that never had a good table gets only the error.
	if tb, err := k.Table(okta.Kind, "c9", "Okta prod"); tb != nil || err == nil {
		t.Fatalf("no last good table: %v, %v", tb, err)
	}
}

// Override files are found by the connector's or type's name without
// regard to case, as connector names are: "okta prod.csv" was passed over
// for "Okta prod" on Linux without a word. The exact name wins; several
// files differing only in case otherwise are an error.
func TestOverrideNamesIgnoreCase(t *testing.T) {
	row := func(tr string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("target,source,transform,notes\nUser.Email,profile.email," + tr + ",\n")}
	}
	overrides := fstest.MapFS{"okta prod.csv": row("upper"), "OKTA.csv": row("lower")}
	src, err := mapping.NewSource(specs, os.DirFS("../mappings"), overrides)
	if err != nil {
		t.Fatal(err)
	}
	src.OverridesDir = "/etc/nc/mappings"
	if tb, err := src.Load(okta.Kind, "Okta prod"); err != nil || tb.File != filepath.Join("/etc/nc/mappings", "okta prod.csv") {
		t.Errorf("the connector's own table: %v %v", tb, err)
	}
	if tb, err := src.Load(okta.Kind, "Okta test"); err != nil || tb.File != filepath.Join("/etc/nc/mappings", "OKTA.csv") {
		t.Errorf("the type's table: %v %v", tb, err)
	}
	if own, err := src.OwnTable("OKTA PROD"); err != nil || own != filepath.Join("/etc/nc/mappings", "okta prod.csv") {
		t.Errorf("OwnTable: %q %v", own, err)
	}
	if own, err := src.OwnTable("Okta test"); err != nil || own != "" {
		t.Errorf("OwnTable of a connector without one: %q %v", own, err)
	}
	// A connector named as a type has no table of its own: "okta.csv" is
	// the type's, and an Okta connector named "OneLogin" is not mapped with
	// the OneLogin table.
	overrides["onelogin.csv"] = &fstest.MapFile{Data: []byte("target,source,transform,notes\nUser.Email,email,,\n")}
	if tb, err := src.Load(okta.Kind, "OneLogin"); err != nil || tb.File != filepath.Join("/etc/nc/mappings", "OKTA.csv") {
		t.Errorf("an Okta connector named OneLogin: %v %v", tb, err)
	}
	for _, name := range []string{"okta", "OneLogin"} {
		if own, err := src.OwnTable(name); err != nil || own != "" {
			t.Errorf("OwnTable(%q): %q %v", name, own, err)
		}
	}
	overrides["Okta Prod.csv"] = row("trim")
	_, err = src.Load(okta.Kind, "Okta prod")
	if err == nil || !strings.Contains(err.Error(), "Okta Prod.csv and okta prod.csv, which differ only in case") {
		t.Errorf("two files for one table: %v", err)
	}
	overrides["Okta prod.csv"] = row("")
	if tb, err := src.Load(okta.Kind, "Okta prod"); err != nil || tb.File != filepath.Join("/etc/nc/mappings", "Okta prod.csv") {
		t.Errorf("the exact name: %v %v", tb, err)
	}
}

// TestDefaultRowsUseRealFields checks every source path of the default tables
// against the provider's documented user object (the reference docs, copied
// into testdata/mapping/reference): a path that resolves to nothing there is a
// typo that would silently send nothing.
func TestDefaultRowsUseRealFields(t *testing.T) {
	src := builtinSource(t)
	for _, sp := range specs {
		k := sp.Kind
		table, err := src.Load(k, "")
		if err != nil {
			t.Fatal(err)
		}
		var user map[string]any
		readJSON(t, "../testdata/mapping/reference/"+string(k)+"-user.json", &user)
		paths, wild := mapping.SourcePaths(table)
		for _, p := range paths {
			v := mapping.Resolve(user, p.Path)
			if l, ok := v.([]any); v == nil || (ok && len(l) == 0) {
				t.Errorf("%s: %s reads %s, which the %s user object does not have", k, p.Target, strings.Join(p.Path, "."), k)
			}
		}
		if wild != nil {
			if _, ok := mapping.Resolve(user, wild).(map[string]any); !ok {
				t.Errorf("%s: wildcard source %s is not an object", k, strings.Join(wild, "."))
			}
		}
	}
}

func TestDefaultTablesCoverTheConnectorPages(t *testing.T) {
	src := builtinSource(t)
	need := map[connector.Kind][]string{
		okta.Kind: {"User.FullName", "User.Phone", "User.PhoneNumbers", "User.StreetAddress", "User.City", "User.State",
			"User.Country", "User.ZipCode", "User.JobTitle", "User.TimeZone", "User.PreferredLanguage", "User.EmployeeNumber",
			"User.Email", "User.Department", "User.Status", "User.DeviceTypes", "User.DeviceOS", "User.AssignedApps",
			"User.LastLogon", "User.LastPasswordChange", "Application.Okta.Profile.*"},
		onelogin.Kind: {"User.FullName", "User.Phone", "User.Email", "User.Manager", "User.ManagerEmail", "User.ManagerPhone",
			"User.JobTitle", "User.Department", "User.Company", "Application.OneLogin.Custom.*", "User.Status",
			"User.AccountState", "User.LastLogon", "User.InvitationSent", "User.Created", "User.Activated",
			"User.InvalidLoginAttempts"},
	}
	for k, targets := range need {
		table, err := src.Load(k, "")
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, r := range table.Rows() {
			have[r.Target] = true
		}
		for _, target := range targets {
			if !have[target] {
				t.Errorf("the default %s table lacks %s", k, target)
			}
		}
	}
}

func TestTransforms(t *testing.T) {
	ts := map[string]string{
		"2024-05-04T19:50:52.000Z":         "2024-05-04T19:50:52.000Z",
		"2024-05-04T19:50:52Z":             "2024-05-04T19:50:52.000Z",
		"2024-05-04T21:50:52.5+02:00":      "2024-05-04T19:50:52.500Z",
		"2015-11-11 03:36:18.714000+00:00": "2015-11-11T03:36:18.714Z",
		"2024-05-04":                       "2024-05-04T00:00:00.000Z",
		"1736244960":                       "2025-01-07T10:16:00.000Z",
		"1736244960123":                    "2025-01-07T10:16:00.123Z",
		"2024-13-45T00:00:00.000Z":         "",
		"yesterday":                        "",
	}
	for in, want := range ts {
		if got := mapping.NormTimestamp(in); got != want {
			t.Errorf("timestamp(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"TRUE": "true", "1": "true", "Yes": "true", "no": "false", "0": "false", "maybe": ""} {
		if got := mapping.NormBool(in); got != want {
			t.Errorf("bool(%q) = %q", in, got)
		}
	}
	ol := &onelogin.Spec.Record
	for in, want := range map[string]string{"1": "Active", "8": "Security questions required", "6": "Unknown", "locked": "Locked", "password-expired": "Password expired"} {
		if got := mapping.StatusName(ol, in); got != want {
			t.Errorf("onelogin status(%q) = %q", in, got)
		}
	}
	if got := mapping.StatusName(&okta.Spec.Record, "deprovisioned"); got != "Deactivated" {
		t.Errorf("okta status = %q", got)
	}
}

func TestApplyAcceptsJSONNumbers(t *testing.T) {
	table, err := builtinSource(t).Load(onelogin.Kind, "")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(`{"id":36216766,"status":1,"state":1,"invalid_login_attempts":3,"role_ids":[1,2],"manager_user_id":9007199254740993}`))
	dec.UseNumber()
	var user map[string]any
	if err := dec.Decode(&user); err != nil {
		t.Fatal(err)
	}
	rec := table.Apply(user, mapDir{"9007199254740993": {Name: "Big Id"}})
	for name, want := range map[string]string{"User.Status": "Active", "User.InvalidLoginAttempts": "3", "User.ManagerID": "9007199254740993", "User.Manager": "Big Id"} {
		if f, _ := rec.Get(name); f.Str != want {
			t.Errorf("%s = %q, want %q", name, f.Str, want)
		}
	}
	if f, _ := rec.Get("Application.OneLogin.RoleIDs"); strings.Join(f.List, ",") != "1,2" {
		t.Errorf("role ids = %v", f.List)
	}
}

func TestContactOf(t *testing.T) {
	rec := mapping.Record{{Name: "User.Email", Str: "a@x"}, {Name: "User.FullName", Str: "A"}, {Name: "User.Phone", Str: "1"}}
	if c := mapping.ContactOf(rec); c != (mapping.Contact{Name: "A", Email: "a@x", Phone: "1"}) {
		t.Errorf("ContactOf = %+v", c)
	}
}

func TestRecordJSONIsValidAndCanonical(t *testing.T) {
	rec := mapping.Record{{Name: "A", Str: "quote \" back \\ nl \n tab \t ctl \x01 ünï €"}, {Name: "B", List: []string{"x", "\xff bad"}}}
	data, err := rec.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("invalid JSON %s: %v", data, err)
	}
	if back["A"] != rec[0].Str || back["B"].([]any)[1] != "\ufffd bad" {
		t.Errorf("round trip: %v", back)
	}
	parsed, err := mapping.ParseRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := parsed.MarshalJSON()
	if string(again) != strings.Replace(string(data), `\ufffd`, "\ufffd", 1) && string(again) != string(data) {
		t.Errorf("not canonical:\n%s\n%s", data, again)
	}
}

func TestManagerFields(t *testing.T) {
	src := builtinSource(t)
	for k, want := range map[connector.Kind]string{okta.Kind: "email", onelogin.Kind: "email,name,phone"} {
		table, err := src.Load(k, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(table.ManagerFields(), ","); got != want {
			t.Errorf("%s: manager fields %q, want %q", k, got, want)
		}
	}
	c := mapping.Contact{Name: "N", Email: "E", Phone: "P"}
	if got := c.Keep([]string{"email"}); got != (mapping.Contact{Email: "E"}) {
		t.Errorf("Keep = %+v", got)
	}
}

// Fields lists the first fields of the table's sources, its wildcard's too,
// once each: what a provider must decode of a user.
func TestFieldsAreWhatTheTableReads(t *testing.T) {
	parse := func(csv string) *mapping.Table {
		t.Helper()
		table, err := mapping.Parse(builtinSource(t).Catalog, okta.Spec, "t.csv", []byte(csv))
		if err != nil {
			t.Fatal(err)
		}
		return table
	}
	table := parse("target,source,transform,notes\n" +
		"User.FirstName,profile.firstName,,\n" +
		"User.FullName,profile.firstName|profile.lastName,join( ),\n" +
		"Application.Okta.Link,_links.self.href,,\n" +
		"User.Created,created,timestamp,\n" +
		"Application.Okta.Profile.*,profile.*,,\n")
	if got := table.Fields(); !slices.Equal(got, []string{"profile", "_links", "created"}) {
		t.Errorf("Fields = %v", got)
	}
	noWild := parse("target,source,transform,notes\nUser.PhoneNumbers,credentials.emails,list,\n")
	if got := noWild.Fields(); !slices.Equal(got, []string{"credentials"}) {
		t.Errorf("Fields = %v", got)
	}
	// Sources: every path, once, a wildcard's as written.
	want := []string{"profile.firstName", "profile.lastName", "_links.self.href", "created", "profile.*"}
	if got := table.Sources(); !slices.Equal(got, want) {
		t.Errorf("Sources = %v, want %v", got, want)
	}
}

// A row reading below a field the connector builds itself (Okta's
// devices and appLinks) loads, but one below what it fills stays empty for
// every user: the table says so, with the line, instead of staying silent.
func TestRowsThatStayEmptyAreWarnedAbout(t *testing.T) {
	table := "target,source,transform,notes\n" +
		"Application.Okta.IMEIs,devices.profile.imei,list,\n" +
		"User.DeviceTypes,devices.profile.platform,list,\n" +
		"Application.Okta.Devices,devices.profile,list,\n" +
		"Application.Okta.AppUrls,appLinks.linkUrl,list,\n" +
		"User.AssignedApps,appLinks.label,list,\n" +
		"User.Email,profile.email,,\n"
	tb, err := mapping.Parse(builtinSource(t).Catalog, okta.Spec, "t.csv", []byte(table))
	if err != nil {
		t.Fatal(err)
	}
	w := tb.Warnings()
	if len(w) != 2 || !strings.HasPrefix(w[0], "t.csv:2: warning: source devices.profile.imei stays empty") ||
		!strings.Contains(w[0], "devices.profile.platform, devices.profile.osVersion, devices.profile.displayName, devices.profile.manufacturer, devices.profile.model, devices.profile.serialNumber only") ||
		!strings.HasPrefix(w[1], "t.csv:5: warning: source appLinks.linkUrl stays empty") {
		t.Errorf("warnings %q", w)
	}
	builtin, err := mapping.Parse(builtinSource(t).Catalog, okta.Spec, "okta.csv", mustRead(t, "../mappings/okta.csv"))
	if err != nil || len(builtin.Warnings()) != 0 {
		t.Errorf("the built-in table: %v, warnings %q", err, builtin.Warnings())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
