// Package onelogintest is a simulator of the OneLogin API v2 for tests,
// benchmarks and the demo: a deterministic tenant generated lazily from a
// seed, the OAuth 2.0 token endpoint with its three request forms, the users
// list with cursor paging and its headers, get and delete by id, the v1
// rate-limit endpoint, an hourly throttle and fault injection, as
// onelogin-api.md describes them. A real OneLogin client pointed at it
// should not notice.
package onelogintest

import (
	"strconv"
	"time"

	"neurons-connector/internal/orgchart"
	"neurons-connector/internal/splitmix"
)

// TimeFormat is how OneLogin writes timestamps: UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// firstID is the id of the first generated user; ids ascend with the
// index, as OneLogin's do with creation.
const firstID = 30_000_001

var (
	firstNames = []string{"Ada", "Zoë", "José", "Łukasz", "Søren", "Chloé", "Björn", "Aïcha", "Nuño", "Jürgen", "Émile", "Mei", "Kwame", "Priya"}
	lastNames  = []string{"Lovelace", "Núñez", "Müller", "Østergaard", "Kowalski", "Dubois", "O'Brien", "García", "Schröder", "Côté", "Okafor", "Tanaka"}
	titles     = []string{"Engineer", "Analyst", "Designer", "Accountant", "Sales Rep", "Support Agent", "Director", ""}
	depts      = []string{"Engineering", "Finance", "Design", "Sales", "Support", "IT", "Legal", ""}
	locales    = []string{"en", "de", "fr", "es", "ja", ""}
	// statusCycle covers every status OneLogin uses (none has 6); actives
	// are the majority, as in a real account.
	statusCycle = []int{1, 1, 1, 1, 1, 2, 1, 3, 1, 0, 1, 4, 1, 5, 1, 7, 1, 8, 1, 1}
)

// User is one simulated user. Optional values are pointers: nil is sent as
// JSON null.
type User struct {
	idx                                   int
	ID                                    int64
	Username, Email, First, Last          string
	Title, Department, Company, Comment   string
	Phone                                 string
	Status, State                         int
	GroupID, DirectoryID                  *int64
	RoleIDs                               []int64
	ManagerID                             int64 // 0: none
	ManagerAD, ExternalID, Locale         string
	SAM, UPN, DN                          string
	InvalidLogins                         int
	Created, Updated                      time.Time
	Activated, LastLogin, PasswordChanged *time.Time
	Custom                                map[string]*string
	visible                               time.Time // when updated_since sees the last change (lag)
}

// generate builds user idx of an account of n users from the seed; epoch
// is the account's creation, chart the account's org chart.
func generate(seed uint64, idx, n int, epoch time.Time, chart *orgchart.Chart) *User {
	r := &splitmix.Rand{S: seed*1_000_003 + uint64(idx)}
	first, last := firstNames[r.N(len(firstNames))], lastNames[r.N(len(lastNames))]
	id := int64(firstID + idx)
	login := fmtLogin(first, last, id)
	created := epoch.Add(time.Duration(idx) * time.Minute).Add(time.Duration(r.N(60_000)) * time.Millisecond)
	u := &User{
		idx: idx, ID: id, Username: login, Email: login + "@example.com", First: first, Last: last,
		Title: titles[r.N(len(titles))], Department: depts[r.N(len(depts))], Company: "Acme", Comment: "",
		Status: statusCycle[idx%len(statusCycle)], State: 1,
		Created: created, Updated: created.Add(time.Duration(1+r.N(90*24)) * time.Hour).Add(time.Duration(r.N(1000)) * time.Millisecond),
		Locale: locales[r.N(len(locales))], InvalidLogins: r.N(3),
	}
	switch idx % 23 { // every state appears
	case 5:
		u.State = 0
	case 11:
		u.State = 2
	case 17:
		u.State = 3
	}
	if r.N(4) > 0 {
		u.Phone = "+1415555" + strconv.Itoa(1000+r.N(9000))
	}
	if idx >= 10 { // a user created later reports to one of the first ten
		u.ManagerID = int64(firstID + r.N(min(10, n)))
	}
	if chart != nil && idx < n {
		// The generated users follow the chart: ids ascend with creation,
		// and a real account's managers were not all created before their
		// reports (a team that gets a new manager), so the listing, in id
		// order, gives about half the reports before their managers. Until
		// issue 17 the first ten users managed everyone else. The draw
		// above is still made, so that the fields drawn after it stay.
		u.ManagerID = 0
		if m, ok := chart.Manager(idx); ok {
			u.ManagerID = int64(firstID + m)
		}
	}
	if r.N(3) == 0 {
		g := int64(400_000 + r.N(5))
		u.GroupID = &g
	}
	u.RoleIDs = []int64{int64(199_000 + r.N(4))}
	if r.N(5) == 0 {
		d := int64(77_000)
		u.DirectoryID = &d
		u.SAM, u.UPN = login, login+"@corp.example.com"
		u.DN = "CN=" + first + " " + last + ",OU=Staff,DC=corp,DC=example,DC=com"
		u.ManagerAD = strconv.Itoa(1000 + r.N(9000))
		u.ExternalID = strconv.Itoa(500_000 + idx)
	}
	if u.Status != 0 {
		a := created.Add(time.Hour)
		u.Activated = &a
		l := u.Updated.Add(-time.Duration(r.N(48)) * time.Hour)
		u.LastLogin, u.PasswordChanged = &l, &a
	}
	cost := strconv.Itoa(1000 + r.N(50)*10)
	u.Custom = map[string]*string{"costcenter": &cost, "employeenumber": nil}
	if r.N(2) == 0 {
		badge := "B-" + strconv.Itoa(r.N(100000))
		u.Custom["badge"] = &badge
	}
	u.visible = u.Updated
	return u
}

func fmtLogin(first, last string, id int64) string {
	b := make([]byte, 0, 24)
	for _, s := range []string{first, ".", last} {
		for _, c := range s {
			if c < 128 && c != '\'' {
				b = append(b, byte(c|0x20))
			}
		}
	}
	return string(b) + strconv.FormatInt(id%10000, 10)
}
