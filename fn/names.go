package fn

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxTicketNameBytes bounds a composed Ticket's name: a DNS label, so that
// it fits wherever a name may go (a label value, a DNS name, a column of
// crossplane beta trace).
const MaxTicketNameBytes = 63

// ticketNameHashHex is how many hex digits of its hash a Ticket name that
// had to be cut or told apart from another ends with.
const ticketNameHashHex = 8

// TicketObjectName is the metadata.name of the Ticket of the station at
// path of Track track (the root Track's name; a legacy XTrack's claim's):
// `<track>-<path>` with every '.' replaced by '-', e.g. guestbook-dev,
// guestbook-regions-us-us. A name longer than MaxTicketNameBytes is cut and
// ends with '-' and 8 hex digits of the SHA-256 of `<track>/<path>`, which
// keeps names that share their first 54 characters apart. It depends on
// nothing but track and path, so every composition names a station's Ticket
// alike.
func TicketObjectName(track, path string) string {
	return ticketObjectName(track, path, false)
}

// ticketObjectName is TicketObjectName, in the hashed form whether it needs
// cutting or not when apart.
func ticketObjectName(track, path string, apart bool) string {
	name, exact := readableName(track, path)
	if exact && !apart && len(name) <= MaxTicketNameBytes {
		return name
	}
	return hashedName(name, track, path)
}

// ClashingTickets are the stations with Applications of Track track's
// expansion whose Tickets' names another station of the Track would share,
// by path; nil for none. They take the hashed form of their names. '-' may
// occur in station and Track names, so the path regions.us.us and a station
// named regions-us-us both read guestbook-regions-us-us: one Track would
// compose two resources into one object, each overwriting the other's spec.
// Within a Track the function sees every station and tells them apart;
// across Tracks it cannot (docs/DESIGN.md, "Ticket names").
func ClashingTickets(track string, stops []*Stop) map[string]bool {
	var clashing map[string]bool
	// Names are compared by a hash of their bytes first: a call builds no
	// name for a station whose Ticket it finds composed as it was.
	seen := make(map[uint64]string, len(stops)) // a path by its name's hash
	for _, s := range stops {
		if !s.HasTicket() {
			continue
		}
		h, readable := readableHash(track, s.Path)
		if !readable {
			// Hashed anyway, and by track and path: apart already.
			continue
		}
		other, ok := seen[h]
		if !ok {
			seen[h] = s.Path
			continue
		}
		if TicketObjectName(track, other) == TicketObjectName(track, s.Path) {
			if clashing == nil {
				clashing = map[string]bool{}
			}
			clashing[other], clashing[s.Path] = true, true
		}
	}
	return clashing
}

// readableHash is the FNV-1a hash of TicketObjectName(track, path), and
// whether that is the readable form, without building it.
func readableHash(track, path string) (uint64, bool) {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	n := 0
	add := func(s string) bool {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c == '.':
				c = '-'
			default:
				return false
			}
			h = (h ^ uint64(c)) * prime
		}
		n += len(s)
		return true
	}
	ok := add(track) && add("-") && add(path)
	return h, ok && n <= MaxTicketNameBytes && isDNSLabelEnds(track) && isDNSLabelEnds(path)
}

// isDNSLabelEnds reports whether s starts and ends with a letter or digit,
// as the readable form of a name must.
func isDNSLabelEnds(s string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	return s != "" && alnum(s[0]) && alnum(s[len(s)-1])
}

// readableName is `<track>-<path>` with '.' replaced by '-', lower case.
// exact is false when anything else had to change to make it a DNS label:
// the XRD and ParseTrack let only DNS names through, but what the function
// cannot know it does not trust.
func readableName(track, path string) (name string, exact bool) {
	var b strings.Builder
	b.Grow(len(track) + 1 + len(path))
	exact = true
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
				b.WriteByte(c)
			case c == '.':
				b.WriteByte('-')
			case c >= 'A' && c <= 'Z':
				b.WriteByte(c + 'a' - 'A')
				exact = false
			default:
				b.WriteByte('-')
				exact = false
			}
		}
	}
	add(track)
	b.WriteByte('-')
	add(path)
	name = strings.Trim(b.String(), "-")
	if len(name) != b.Len() || track == "" || path == "" {
		exact = false
	}
	return name, exact
}

// hashedName is readable cut to leave room for '-' and the hash of track
// and path, then that.
func hashedName(readable, track, path string) string {
	var in [256]byte
	sum := sha256.Sum256(append(append(append(in[:0], track...), '/'), path...))
	var h [ticketNameHashHex]byte
	hex.Encode(h[:], sum[:ticketNameHashHex/2])
	prefix := strings.TrimRight(readable[:min(len(readable), MaxTicketNameBytes-1-ticketNameHashHex)], "-")
	if prefix == "" {
		return string(h[:])
	}
	return prefix + "-" + string(h[:])
}
