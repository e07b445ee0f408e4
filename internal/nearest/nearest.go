// Package nearest finds, for a misspelt name, the known name it most
// likely meant: the "did you mean" of error messages.
package nearest

import "strings"

// Name returns the candidate closest to name, ignoring case, if it is
// within maxEdits edits (Levenshtein); ties go to the first candidate. It
// returns "" when none is, or when name is too long to be a misspelling
// of any (the distance is quadratic).
func Name(name string, candidates []string, maxEdits int) string {
	if len(name) > 200 {
		return ""
	}
	best, bestD := "", maxEdits+1
	for _, c := range candidates {
		if d := Distance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance of a and b, byte by byte.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
