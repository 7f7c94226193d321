// Package bounded cuts text a tenant or a tool wrote to the size a status,
// a condition or an Event may hold.
package bounded

import "unicode/utf8"

// More marks text that was cut.
const More = "…"

// Text returns s when it holds at most n bytes, or else its first bytes cut
// on a rune boundary and marked with More, n bytes at most in all (More
// alone when n is smaller than More).
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Prefix(s, n-len(More)) + More
}

// Prefix returns the longest start of s of at most n bytes that ends on a
// rune boundary.
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
