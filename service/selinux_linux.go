package service

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// selinuxEnforce is where the kernel says whether SELinux enforces ("1")
// or only logs ("0"); absent when SELinux is off. A variable for tests.
var selinuxEnforce = "/sys/fs/selinux/enforce"

// fileLabel is a file's SELinux label (user:role:type:level); a variable
// for tests.
var fileLabel = func(path string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, "security.selinux", buf)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf[:n], "\x00")), nil
}

// unrunnable are the file types the targeted policy keeps systemd (init_t)
// from running as a service: what a binary keeps when it is moved (mv,
// which keeps the label) out of a home folder, /root, /tmp or a folder of
// its own under / or /srv (the Fedora and RHEL SELinux guides' labelling
// problems). Copied (install, cp), a file takes its new folder's type.
var unrunnable = map[string]bool{"user_home_t": true, "user_home_dir_t": true, "admin_home_t": true, "xdg_downloads_t": true,
	"user_tmp_t": true, "tmp_t": true, "var_t": true, "default_t": true, "unlabeled_t": true}

// selinuxCheck says whether SELinux would keep systemd from running exe:
// refused (enforcing, so the service would fail every start with
// status=203/EXEC) or a warning (permissive: it would, once enforcing).
// Both empty when SELinux is off or the label is one systemd may run.
func selinuxCheck(exe string) (refused, warning string) {
	mode, err := os.ReadFile(selinuxEnforce)
	if err != nil {
		return "", "" // SELinux is off
	}
	label, err := fileLabel(exe)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(label, ":")
	if len(parts) < 3 || !unrunnable[parts[2]] {
		return "", ""
	}
	fix := fmt.Sprintf("sudo install -m 0755 %s /usr/local/bin/ && sudo -E /usr/local/bin/%s service install "+
		"(a copy takes the folder's label)", exe, filepath.Base(exe))
	if within(exe, "/usr") || within(exe, "/opt") {
		fix = fmt.Sprintf("sudo restorecon -v %s (it was moved there with its old label), then install again", exe)
	}
	why := fmt.Sprintf("%s has the SELinux type %s, which systemd may not run as a service", exe, parts[2])
	if strings.TrimSpace(string(mode)) == "1" {
		return fmt.Sprintf("%s: the service would fail every start with status=203/EXEC; %s", why, fix), ""
	}
	return "", fmt.Sprintf("%s: SELinux is permissive now, and once it enforces the service will fail every start; %s", why, fix)
}
