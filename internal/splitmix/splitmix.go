// Package splitmix is the splitmix64 generator the simulators build their
// tenants from: a few instructions per number, and the same numbers for the
// same state, which is what lets a tenant of a million users be generated
// one user at a time, on demand.
package splitmix

// Rand is a splitmix64 generator; S is its state (seed it directly).
type Rand struct{ S uint64 }

// Next returns the next 64 random bits.
func (r *Rand) Next() uint64 {
	r.S += 0x9e3779b97f4a7c15
	z := r.S
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// N returns a number from 0 to k-1.
func (r *Rand) N(k int) int { return int(r.Next() % uint64(k)) }
