package netfs

import "golang.org/x/sys/unix"

// remoteTypes are the macOS file system type names of network shares.
var remoteTypes = map[string]bool{"nfs": true, "smbfs": true, "afpfs": true, "webdav": true, "cifs": true}

func of(dir string) (string, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false
	}
	name := unix.ByteSliceToString(st.Fstypename[:])
	return name, remoteTypes[name]
}
