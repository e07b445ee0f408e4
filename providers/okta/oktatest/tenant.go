// Package oktatest is a simulator of the Okta Management API for tests,
// benchmarks and the demo: a deterministic tenant generated lazily from a
// seed (a million users cost a few bytes each until changed), the endpoints
// a user sync reads, with Okta's pagination, filters, rate-limit headers,
// error bodies and quirks as okta-api.md describes them, and fault
// injection. A real Okta client pointed at it should not notice.
package oktatest

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"neurons-connector/internal/orgchart"
	"neurons-connector/internal/splitmix"
)

// Statuses are Okta's user statuses.
var Statuses = []string{"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Zoë", "José", "Łukasz", "Søren", "Chloé", "Björn",
		"Ana", "Mei", "Hiroshi", "Aïcha", "Nuño", "Olga", "Priya", "Kwame", "Fatima", "Sean", "Ines", "Jürgen", "Yuki", "Émile"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Núñez", "Müller", "Østergaard", "Kowalski", "Dubois", "Tanaka",
		"O'Brien", "García", "Schröder", "Smith", "Nakamura", "Okafor", "Ivanova", "Patel", "Côté", "Lindqvist", "Rossi"}
	titles      = []string{"Engineer", "Senior Engineer", "Staff Engineer", "Product Manager", "Designer", "Analyst", "Accountant", "Sales Rep", "Support Agent", "Director"}
	departments = []string{"Engineering", "Product", "Design", "Finance", "Sales", "Support", "Marketing", "Legal", "HR", "IT"}
	cities      = []struct{ city, state, zip, country, tz, locale, lang string }{
		{"San Francisco", "CA", "94107", "US", "America/Los_Angeles", "en_US", "en"},
		{"New York", "NY", "10001", "US", "America/New_York", "en_US", "en"},
		{"Madrid", "Madrid", "28013", "ES", "Europe/Madrid", "es_ES", "es"},
		{"München", "Bayern", "80331", "DE", "Europe/Berlin", "de_DE", "de"},
		{"Kraków", "Małopolskie", "30-001", "PL", "Europe/Warsaw", "pl_PL", "pl"},
		{"Tokyo", "Tokyo", "100-0001", "JP", "Asia/Tokyo", "ja_JP", "ja"},
		{"Montréal", "QC", "H2X 1Y4", "CA", "America/Toronto", "fr_CA", "fr"},
		{"København", "Hovedstaden", "1050", "DK", "Europe/Copenhagen", "da_DK", "da"},
	}
	appLabels  = []string{"Google Workspace", "Slack", "Zoom", "Salesforce", "GitHub", "Jira", "Confluence", "Box", "Workday", "ServiceNow", "AWS", "Microsoft 365", "DocuSign", "Tableau", "Figma", "Dropbox"}
	platforms  = []string{"IOS", "ANDROID", "MACOS", "WINDOWS"}
	osVersions = map[string][]string{"IOS": {"17.5.1", "18.1"}, "ANDROID": {"13:2023-05-05", "14:2024-03-01"}, "MACOS": {"14.2.1", "15.1"}, "WINDOWS": {"10.0.19045", "10.0.22631"}}
	models     = map[string][]string{"IOS": {"iPhone 15", "iPad Air"}, "ANDROID": {"Pixel 8", "Galaxy S24"}, "MACOS": {"MacBook Pro", "Mac mini"}, "WINDOWS": {"ThinkPad X1", "Surface Laptop"}}
)

// user is one user's state: generated, or changed by a mutation.
type user struct {
	idx                                  int
	id                                   string
	status                               string
	created, activated, statusChanged    time.Time // zero: null
	lastLogin, lastUpdated, passwordChgd time.Time
	profile                              map[string]any // nil until prof builds it
	deleted                              bool
	apps                                 []int   // extra direct assignments
	unassigned                           []int   // apps taken away (drawn or direct)
	devGone                              [4]bool // devices removed from the user
	devAdded                             int     // devices added: slots 2 and 3
	t                                    *tenant // for prof
}

// tenant is the generated org plus the users mutations touched.
type tenant struct {
	seed   uint64
	n      int       // generated users
	base   time.Time // "now" when the tenant was generated
	tag    string    // ID infix derived from the seed
	nApps  int
	spread int // seconds of lastUpdated before base

	mu      sync.RWMutex
	changed map[int]*user // mutated, deleted or added users
	added   int           // users added after generation: indices n, n+1, ...
	groups  []*group      // made by tests (AddGroup)
	// history holds, with keepHistory (a SearchLag), the versions each
	// changed user had, for the search index that sees changes late.
	keepHistory bool
	history     map[int][]version
	// chart, when set (the default), lays the management hierarchy over
	// the users in an order of its own; nil (ManagersFirst, or an org of
	// one): user i's manager is user (i-1)/8, listed before it.
	chart *orgchart.Chart
}

// version is a user as it was until a change replaced it; nil: it did not
// exist yet, or was deleted.
type version struct {
	until time.Time
	u     *user
}

// put stores user i's new version (t.mu held), keeping the one it
// replaces when search must see changes late.
func (t *tenant) put(i int, u *user, now time.Time) {
	if t.keepHistory {
		prev, ok := t.changed[i]
		if !ok && i < t.n {
			prev = t.generate(i)
		}
		if prev != nil && prev.deleted {
			prev = nil
		}
		if t.history == nil {
			t.history = map[int][]version{}
		}
		t.history[i] = append(t.history[i], version{until: now, u: prev})
	}
	t.changed[i] = u
}

// asOf is user i as it was at time at (nil: not there), for search.
func (t *tenant) asOf(i int, at time.Time) *user {
	t.mu.RLock()
	h := t.history[i]
	t.mu.RUnlock()
	for _, v := range h {
		if v.until.After(at) {
			return v.u
		}
	}
	return t.get(i)
}

func newTenant(seed uint64, n, apps int, base time.Time, spread time.Duration) *tenant {
	r := splitmix.Rand{S: seed}
	tag := strconv.FormatUint(r.Next()%(36*36*36*36*36*36*36), 36)
	tag = strings.Repeat("0", 7-len(tag)) + tag
	secs := int(spread / time.Second)
	if secs <= 0 {
		secs = max(60, n/4)
	}
	return &tenant{seed: seed, n: n, base: base.UTC().Truncate(time.Second), tag: tag, nApps: apps, spread: secs, changed: map[int]*user{}}
}

func pad(i, width int) string {
	s := strconv.FormatInt(int64(i), 36)
	return strings.Repeat("0", max(0, width-len(s))) + s
}

func (t *tenant) userID(i int) string      { return "00u" + t.tag + pad(i, 10) }
func (t *tenant) appID(j int) string       { return "0oa" + t.tag + pad(j, 10) }
func (t *tenant) deviceID(i, k int) string { return "guo" + t.tag + pad(i*4+k, 10) }

// indexOf decodes an ID made by userID, appID or deviceID.
func (t *tenant) indexOf(prefix, id string) (int, bool) {
	if len(id) != 20 || !strings.HasPrefix(id, prefix+t.tag) {
		return 0, false
	}
	v, err := strconv.ParseInt(id[10:], 36, 64)
	return int(v), err == nil
}

func (t *tenant) total() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n + t.added
}

// get returns user i, or nil if it does not exist or was deleted.
func (t *tenant) get(i int) *user {
	t.mu.RLock()
	u, ok := t.changed[i]
	total := t.n + t.added
	t.mu.RUnlock()
	if ok {
		if u.deleted {
			return nil
		}
		return u
	}
	if i < 0 || i >= total {
		return nil
	}
	return t.generate(i)
}

// generate builds user i from the seed alone.
func (t *tenant) generate(i int) *user {
	r := splitmix.Rand{S: t.seed ^ uint64(i)*0x2545f4914f6cdd1d}
	u := &user{idx: i, id: t.userID(i)}
	switch p := r.N(100); {
	case p < 70:
		u.status = "ACTIVE"
	case p < 75:
		u.status = "STAGED"
	case p < 79:
		u.status = "PROVISIONED"
	case p < 82:
		u.status = "RECOVERY"
	case p < 85:
		u.status = "PASSWORD_EXPIRED"
	case p < 88:
		u.status = "LOCKED_OUT"
	case p < 94:
		u.status = "SUSPENDED"
	default:
		u.status = "DEPROVISIONED"
	}
	// By default many users share one lastUpdated second (see Spread).
	u.lastUpdated = t.base.Add(-time.Duration(r.N(t.spread)+1) * time.Second)
	u.created = u.lastUpdated.Add(-time.Duration(r.N(3*365*24*3600)) * time.Second)
	if u.status != "STAGED" {
		u.activated = u.created.Add(time.Duration(1+r.N(3600)) * time.Second)
		if u.activated.After(u.lastUpdated) {
			u.activated = u.lastUpdated
		}
		if u.status == "ACTIVE" && r.N(20) == 0 {
			u.activated = time.Time{} // null even though ACTIVE: Okta's own example does this
		}
		u.passwordChgd = u.created.Add(time.Duration(r.N(7200)) * time.Second)
		if u.passwordChgd.After(u.lastUpdated) {
			u.passwordChgd = u.lastUpdated
		}
	}
	u.statusChanged = u.lastUpdated
	if u.status != "STAGED" && u.status != "PROVISIONED" && r.N(10) > 0 {
		u.lastLogin = t.base.Add(-time.Duration(r.N(30*24*3600)) * time.Second)
	}
	u.t = t
	return u
}

// prof returns the user's profile, generating it on first use: most
// listings (app users, devices) never need it, and it is most of a user's
// cost.
func (u *user) prof() map[string]any {
	if u.profile == nil {
		u.profile = u.t.profile(u.idx)
	}
	return u.profile
}

// summary is what userSummary shows, without building the whole profile.
func (u *user) summary() (first, last, login, email any) {
	if u.profile != nil {
		return u.profile["firstName"], u.profile["lastName"], u.profile["login"], u.profile["email"]
	}
	f, l := u.t.names(u.idx)
	lg := u.t.login(u.idx)
	return f, l, lg, lg
}

// login is the user's login without building the whole profile.
func (u *user) login() string {
	if u.profile != nil {
		l, _ := u.profile["login"].(string)
		return l
	}
	return u.t.login(u.idx)
}

func (t *tenant) login(i int) string {
	f, l := t.nameIndex(i)
	return asciiFirst[f] + "." + asciiLast[l] + "." + strconv.Itoa(i) + "@example.com"
}

// field is one profile attribute.
type field struct {
	k string
	v any
}

// profile is user i's generated profile as a map (for mutations and
// filters); profileFields is the same, in key order, for rendering.
func (t *tenant) profile(i int) map[string]any {
	fields := t.profileFields(i)
	p := make(map[string]any, len(fields))
	for _, f := range fields {
		p[f.k] = f.v
	}
	return p
}

// profileFields draws user i's profile, sorted by attribute name, so that
// pages render without building and sorting a map per user.
func (t *tenant) profileFields(i int) []field {
	r := &splitmix.Rand{S: t.seed ^ uint64(i)*0xa0761d6478bd642f ^ 0xe7037ed1a0b428db}
	first, last := t.names(i)
	c := cities[r.N(len(cities))]
	login := t.login(i)
	title := titles[r.N(len(titles))]
	costCenter := "CC-" + strconv.Itoa(100+r.N(20))
	// Custom attributes, of several JSON types as real schemas have.
	contractor := r.N(8) == 0
	roles := []any{"dev", []string{"oncall", "audit", "ops"}[r.N(3)]}
	var second any // secondEmail arrives as null, "" or a value
	switch r.N(3) {
	case 1:
		second = ""
	case 2:
		second = ascii(first) + "@home.example"
	}
	var mobile any
	if r.N(4) != 0 {
		mobile = phone((i * 7) % 10000)
	}
	department := "" // often simply absent
	if r.N(10) > 0 {
		department = departments[r.N(len(departments))]
	}
	division := []string{"Americas", "EMEA", "APAC"}[r.N(3)]
	out := make([]field, 0, 28)
	out = append(out, field{"badgeNumber", 4000 + i}, field{"city", c.city}, field{"cloudRoles", roles},
		field{"costCenter", costCenter}, field{"countryCode", c.country})
	if department != "" {
		out = append(out, field{"department", department})
	}
	out = append(out, field{"displayName", first + " " + last}, field{"division", division}, field{"email", login},
		field{"employeeNumber", strconv.Itoa(10000 + i)}, field{"firstName", first}, field{"isContractor", contractor},
		field{"lastName", last}, field{"locale", c.locale}, field{"login", login})
	if m, ok := t.managerOf(i); ok { // a manager hierarchy: eight reports per manager
		out = append(out, field{"manager", t.managerName(m)}, field{"managerId", t.userID(m)})
	}
	return append(out, field{"mobilePhone", mobile}, field{"organization", "Example Corp"},
		field{"preferredLanguage", c.lang}, field{"primaryPhone", phone(i % 10000)}, field{"secondEmail", second},
		field{"state", c.state}, field{"streetAddress", strconv.Itoa(1+i%999) + " Main Street"},
		field{"timezone", c.tz}, field{"title", title}, field{"userType", "Employee"}, field{"zipCode", c.zip})
}

// phone formats a number of the 555 range: +1 555 0042.
func phone(n int) string {
	d := strconv.Itoa(n)
	return "+1 555 " + strings.Repeat("0", 4-len(d)) + d
}

// names draws user i's names from a stream of their own, so that a
// manager's name costs two numbers, not a whole generated user.
func (t *tenant) names(i int) (first, last string) {
	f, l := t.nameIndex(i)
	return firstNames[f], lastNames[l]
}

func (t *tenant) nameIndex(i int) (first, last int) {
	r := splitmix.Rand{S: t.seed ^ uint64(i)*0x94d049bb133111eb ^ 0x5851f42d4c957f2d}
	return r.N(len(firstNames)), r.N(len(lastNames))
}

// asciiFirst and asciiLast are the names as logins spell them.
var asciiFirst, asciiLast = asciiAll(firstNames), asciiAll(lastNames)

func asciiAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ascii(n)
	}
	return out
}

// ReportsBeforeManagers counts the generated users that have a manager,
// and those of them the listing gives before it: what a first full run
// holds back until the pass ends. bench prints the share, so that its
// figures say which kind of tenant they were measured on.
func (s *Server) ReportsBeforeManagers() (before, reports int) {
	for i := range s.t.n {
		if m, ok := s.t.managerOf(i); ok {
			reports++
			if m > i {
				before++
			}
		}
	}
	return before, reports
}

// managerOf returns generated user i's manager, if it has one.
func (t *tenant) managerOf(i int) (int, bool) {
	switch {
	case i >= t.n:
		return 0, false // added after generation
	case t.chart != nil:
		return t.chart.Manager(i)
	}
	return (i - 1) / 8, i > 0
}

// managerName is user m's generated display name. Okta keeps a report's
// manager as free text that does not follow the manager's own edits.
func (t *tenant) managerName(m int) string {
	first, last := t.names(m)
	return first + " " + last
}

var asciiMap = strings.NewReplacer("ë", "e", "é", "e", "É", "E", "Ł", "L", "ł", "l", "ø", "o", "Ø", "O", "ö", "o", "ü", "u",
	"ú", "u", "ñ", "n", "ï", "i", "á", "a", "ç", "c", "ô", "o", "'", "", "Å", "A", "å", "a", "ß", "ss")

func ascii(s string) string { return strings.ToLower(asciiMap.Replace(s)) }

// clone copies a user so a mutation never changes a value a response holds.
func (u *user) clone() *user {
	c := *u
	c.profile = make(map[string]any, len(u.prof()))
	for k, v := range u.prof() {
		c.profile[k] = v
	}
	c.apps = append([]int(nil), u.apps...)
	c.unassigned = append([]int(nil), u.unassigned...)
	return &c
}

// assigned reports whether user u has app j, and whether through a group.
func (t *tenant) assigned(u *user, j int) (ok, group bool) {
	if u.status == "DEPROVISIONED" {
		return false, false // deactivation removes assignments
	}
	if j == 0 {
		return true, true // everyone, through the "Everyone" group
	}
	if slices.Contains(u.unassigned, j) {
		return false, false
	}
	for _, a := range u.apps {
		if a == j {
			return true, false
		}
	}
	if t.groupHas(u.idx, j) {
		return true, true
	}
	return t.drawnApp(u.idx, j), false
}

// drawnApp is the generated part of the assignments: a fifth of the users
// have each of the well-known apps, and one in fifty each of the others
// (an enterprise's hundreds of apps belong mostly to small teams). It
// needs only the index, so listings skip the others without generating
// them.
func (t *tenant) drawnApp(i, j int) bool {
	r := splitmix.Rand{S: t.seed ^ uint64(i)*0x9e3779b97f4a7c15 ^ uint64(j)*0xd1b54a32d192ed03}
	if j >= len(appLabels) {
		return r.N(50) == 0
	}
	return r.N(5) == 0
}

// appLabel is app j's label: the well-known ones first, then numbered
// copies of them ("Slack 2"), as an org with hundreds of apps has several
// of one product.
func appLabel(j int) string {
	if j < len(appLabels) {
		return appLabels[j]
	}
	return appLabels[j%len(appLabels)] + " " + strconv.Itoa(j/len(appLabels)+1)
}

// mayHaveApp is a cheap first test for listings: false means user i
// certainly does not have app j.
func (t *tenant) mayHaveApp(i, j int) bool {
	if j == 0 || t.drawnApp(i, j) || t.groupHas(i, j) {
		return true
	}
	t.mu.RLock()
	u, changed := t.changed[i]
	t.mu.RUnlock()
	return changed && len(u.apps) > 0
}

// devices returns how many devices user i has (0 to 2) and device k's facts.
func (t *tenant) deviceCount(i int) int {
	r := splitmix.Rand{S: t.seed ^ uint64(i)*0xd6e8feb86659fd93}
	return r.N(3)
}

// hasDevice reports whether user u has device slot k (0-3): slots 0 and 1
// are generated, 2 and 3 are for devices added later.
func (t *tenant) hasDevice(u *user, k int) bool {
	if u.devGone[k] {
		return false
	}
	if k < 2 {
		return k < t.deviceCount(u.idx)
	}
	return k-2 < u.devAdded
}

// mayHaveAddedDevices is a cheap first test for listings: false means user
// i has no device in slots 2 and 3.
func (t *tenant) mayHaveAddedDevices(i int) bool {
	t.mu.RLock()
	u, changed := t.changed[i]
	t.mu.RUnlock()
	return changed && u.devAdded > 0
}

func (t *tenant) device(i, k int) (platform, osVersion, model string) {
	r := splitmix.Rand{S: t.seed ^ uint64(i)*0xd6e8feb86659fd93 ^ uint64(k+1)*0x632be59bd9b4e019}
	platform = platforms[r.N(len(platforms))]
	osVersion = osVersions[platform][r.N(2)]
	model = models[platform][r.N(2)]
	return
}
