package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On a host where SELinux enforces, a binary moved (mv) out of a home
// folder keeps its user_home_t label, and systemd may not run it: the
// service would fail every start with status=203/EXEC. Install refuses it
// with the fix; where SELinux only logs, install warns; where it is off,
// or the label is one systemd runs, nothing is said.
func TestSELinuxLabelsSystemdWillNotRun(t *testing.T) {
	dir := t.TempDir()
	enforce := filepath.Join(dir, "enforce")
	oldEnforce, oldLabel := selinuxEnforce, fileLabel
	t.Cleanup(func() { selinuxEnforce, fileLabel = oldEnforce, oldLabel })
	selinuxEnforce = enforce
	label := "unconfined_u:object_r:user_home_t:s0"
	fileLabel = func(string) (string, error) { return label, nil }

	if r, w := selinuxCheck("/usr/local/bin/neurons-connector"); r != "" || w != "" {
		t.Errorf("SELinux off: %q %q", r, w)
	}
	if err := os.WriteFile(enforce, []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := selinuxCheck("/usr/local/bin/neurons-connector")
	if w != "" || !strings.Contains(r, "/usr/local/bin/neurons-connector has the SELinux type user_home_t") ||
		!strings.Contains(r, "status=203/EXEC") || !strings.Contains(r, "sudo restorecon -v /usr/local/bin/neurons-connector") {
		t.Errorf("moved into /usr/local/bin: %q %q", r, w)
	}
	label = "unconfined_u:object_r:admin_home_t:s0"
	if r, _ := selinuxCheck("/data/neurons-connector"); !strings.Contains(r, "type admin_home_t") ||
		!strings.Contains(r, "sudo install -m 0755 /data/neurons-connector /usr/local/bin/") {
		t.Errorf("elsewhere: %q", r)
	}
	if err := os.WriteFile(enforce, []byte("0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, w := selinuxCheck("/data/neurons-connector"); r != "" || !strings.Contains(w, "SELinux is permissive now") {
		t.Errorf("permissive: %q %q", r, w)
	}
	for _, ok := range []string{"system_u:object_r:bin_t:s0", "system_u:object_r:usr_t:s0", "system_u:object_r:neurons_exec_t:s0", "garbage"} {
		label = ok
		if r, w := selinuxCheck("/opt/nc/neurons-connector"); r != "" || w != "" {
			t.Errorf("%s: %q %q", ok, r, w)
		}
	}
}
