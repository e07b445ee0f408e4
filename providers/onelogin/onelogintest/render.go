package onelogintest

import (
	"encoding/json"
	"strconv"
	"time"
)

// listFields is what GET /api/2/users returns without fields=
// (onelogin-api.md §3.3); get-by-id returns every field.
var listFields = []string{"id", "username", "email", "firstname", "lastname", "phone", "status", "state", "group_id",
	"directory_id", "samaccountname", "member_of", "distinguished_name", "external_id", "created_at", "updated_at",
	"activated_at", "last_login", "invitation_sent_at", "password_changed_at", "locked_until", "invalid_login_attempts"}

// AllFields is every attribute of the user object.
var AllFields = append(append([]string{}, listFields...), "title", "department", "company", "comment", "role_ids",
	"trusted_idp_id", "manager_user_id", "manager_ad_id", "userprincipalname", "preferred_locale_code", "custom_attributes")

func ts(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(TimeFormat)
}

func optInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// str sends an empty string as "" or null, as accounts differ.
func (u *User) str(s string) any {
	if s == "" && u.idx%2 == 1 {
		return nil
	}
	return s
}

// field renders one attribute with the type quirks real accounts show
// (onelogin-api.md §3.2): manager ids as numbers or strings, manager_ad_id
// as a number, a string or a quoted string, member_of as a string, an array
// or null, external_id as a string or a number.
func (u *User) field(name string, managerAsString bool) any {
	switch name {
	case "id":
		return u.ID
	case "username":
		return u.str(u.Username)
	case "email":
		return u.str(u.Email)
	case "firstname":
		return u.First
	case "lastname":
		return u.Last
	case "phone":
		return u.str(u.Phone)
	case "title":
		return u.str(u.Title)
	case "department":
		return u.str(u.Department)
	case "company":
		return u.str(u.Company)
	case "comment":
		return u.str(u.Comment)
	case "status":
		return u.Status
	case "state":
		return u.State
	case "group_id":
		return optInt(u.GroupID)
	case "directory_id":
		return optInt(u.DirectoryID)
	case "trusted_idp_id":
		return nil
	case "role_ids":
		return u.RoleIDs
	case "manager_user_id":
		switch {
		case u.ManagerID == 0:
			return nil
		case managerAsString || u.idx%7 == 3:
			return strconv.FormatInt(u.ManagerID, 10)
		}
		return u.ManagerID
	case "manager_ad_id":
		switch {
		case u.ManagerAD == "":
			return nil
		case u.idx%5 == 1:
			n, _ := strconv.Atoi(u.ManagerAD)
			return n
		case u.idx%5 == 2:
			return strconv.Quote(u.ManagerAD)
		}
		return u.ManagerAD
	case "member_of":
		switch {
		case u.DN == "":
			return nil
		case u.idx%2 == 0:
			return "CN=Staff,OU=Groups,DC=corp,DC=example,DC=com"
		}
		return []string{"CN=Staff,OU=Groups,DC=corp,DC=example,DC=com", "CN=VPN,OU=Groups,DC=corp,DC=example,DC=com"}
	case "external_id":
		switch {
		case u.ExternalID == "":
			return nil
		case u.idx%4 == 0:
			n, _ := strconv.Atoi(u.ExternalID)
			return n
		}
		return u.ExternalID
	case "samaccountname":
		return u.str(u.SAM)
	case "userprincipalname":
		return u.str(u.UPN)
	case "distinguished_name":
		return u.str(u.DN)
	case "preferred_locale_code":
		return u.str(u.Locale)
	case "invalid_login_attempts":
		return u.InvalidLogins
	case "created_at":
		return ts(&u.Created)
	case "updated_at":
		return ts(&u.Updated)
	case "activated_at":
		return ts(u.Activated)
	case "last_login":
		return ts(u.LastLogin)
	case "password_changed_at":
		return ts(u.PasswordChanged)
	case "invitation_sent_at", "locked_until":
		if name == "locked_until" && u.Status == 3 {
			t := u.Updated.Add(30 * time.Minute)
			return ts(&t)
		}
		return nil
	case "custom_attributes":
		return u.Custom
	}
	return nil
}

// render writes the user with the named fields, id always first.
func (u *User) render(fields []string, managerAsString bool) json.RawMessage {
	m := make(map[string]any, len(fields)+1)
	m["id"] = u.ID
	for _, f := range fields {
		if known[f] {
			m[f] = u.field(f, managerAsString)
		}
	}
	b, _ := json.Marshal(m)
	return b
}

var known = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range AllFields {
		m[f] = true
	}
	return m
}()
