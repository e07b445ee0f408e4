package engine

// SetMaxReread lowers the number of reports a run reads again by ID, for a
// test of what a run does beyond it; the returned func restores it.
func SetMaxReread(n int) (restore func()) {
	old := maxReread
	maxReread = n
	return func() { maxReread = old }
}
