// Package netfs tells whether a folder is on a network file system (NFS,
// SMB, a VM's shared folder), where the database must not be: bbolt maps
// its file into memory and keeps a second process out with a file lock,
// and neither holds across hosts on a share (bbolt's maintainers say it
// cannot be used read-write by processes on NFS, etcd-io/bbolt#257; a
// boltdb file on an NFS home used from two hosts was corrupted,
// elves/elvish#596). A connection to the file server lost in the middle
// of a commit may leave the file damaged as a crash could not on a local
// disk.
package netfs

// Of reports whether dir is on a network file system, and which kind
// ("nfs", "cifs", "a network drive", …). A folder that cannot be looked at
// is taken as local: the caller finds out about it anyway.
func Of(dir string) (kind string, remote bool) { return of(dir) }
