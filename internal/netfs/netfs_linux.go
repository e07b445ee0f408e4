package netfs

import "golang.org/x/sys/unix"

// The statfs magic numbers of network and shared-folder file systems
// (linux/magic.h and the file systems' own headers). Cluster file systems
// made for shared disks (GFS2, OCFS2) and FUSE (which is local as often as
// not) are not in it.
var remoteMagic = map[int64]string{
	0x6969:     "nfs",
	0x517b:     "smb",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x01021997: "9p (a VM's or WSL's shared folder)",
	0x786f4256: "vboxsf (a VirtualBox shared folder)",
	0x00c36400: "ceph",
	0x5346414f: "afs",
	0x0bd00bd0: "lustre",
	0x6b414653: "kafs",
}

func of(dir string) (string, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false
	}
	return kindOf(int64(st.Type)) //nolint:unconvert // Type is int32 on some architectures
}

// kindOf names a file system type that is a network one.
func kindOf(magic int64) (string, bool) {
	k, ok := remoteMagic[magic&0xffffffff]
	return k, ok
}
