//go:build !linux && !windows

package service

// selinuxCheck: SELinux is Linux's.
func selinuxCheck(string) (refused, warning string) { return "", "" }
