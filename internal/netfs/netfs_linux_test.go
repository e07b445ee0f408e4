package netfs

import "testing"

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		magic  int64
		kind   string
		remote bool
	}{
		{0x6969, "nfs", true},
		{0xff534d42, "cifs", true},
		{int64(int32(-11317950)), "cifs", true}, // the same, as a 32-bit statfs sign-extends it
		{0xfe534d42, "smb2", true},
		{0x01021997, "9p (a VM's or WSL's shared folder)", true},
		{0xef53, "", false},     // ext4
		{0x58465342, "", false}, // XFS
		{0x01021994, "", false}, // tmpfs
		{0x794c7630, "", false}, // overlayfs
		{0x65735546, "", false}, // FUSE: local as often as not
	} {
		if kind, remote := kindOf(tc.magic); kind != tc.kind || remote != tc.remote {
			t.Errorf("%#x: %q %v, want %q %v", tc.magic, kind, remote, tc.kind, tc.remote)
		}
	}
}

// The tests' temporary folders are on a local disk (or in memory), and a
// folder that is not there is taken as local.
func TestOf(t *testing.T) {
	if kind, remote := Of(t.TempDir()); remote {
		t.Errorf("a temporary folder is on %s", kind)
	}
	if _, remote := Of("/does/not/exist"); remote {
		t.Error("a missing folder is remote")
	}
}
