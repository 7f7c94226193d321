package render

import (
	"strings"
)

// TrailerKey is the git trailer that marks K8sTA's own commits.
const TrailerKey = "K8sta-Change"

// CommitMessage returns the message of the commit that renders rec: the
// subject "k8sta: render <station> change <id>", a body naming the source
// commit, the images and the overlay, and the trailer "K8sta-Change: <id>"
// as the last line. Line breaks inside fields are flattened, so no field can
// forge a trailer.
func CommitMessage(rec Record) string {
	var b strings.Builder
	b.WriteString("k8sta: render ")
	b.WriteString(oneLine(rec.Station))
	b.WriteString(" change ")
	b.WriteString(oneLine(rec.Change.ID))
	b.WriteString("\n\n")
	b.WriteString("Track: " + oneLine(rec.Track) + "\n")
	b.WriteString("Overlay: " + oneLine(rec.Overlay) + "\n")
	b.WriteString("Source commit: " + oneLine(rec.Change.Commit) + "\n")
	if len(rec.Change.Images) == 0 {
		b.WriteString("Images: none\n")
	} else {
		b.WriteString("Images:\n")
		for _, img := range rec.Change.Images {
			b.WriteString("- " + oneLine(img.String()) + "\n")
		}
	}
	b.WriteString("\n" + TrailerKey + ": " + oneLine(rec.Change.ID) + "\n")
	return b.String()
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// IsOwnCommit reports whether message carries a K8sta-Change trailer, that
// is whether K8sTA made the commit. It never looks at the author.
func IsOwnCommit(message string) bool {
	_, ok := OwnChangeID(message)
	return ok
}

// OwnChangeID returns the value of the message's K8sta-Change trailer.
//
// Trailers are found as git interpret-trailers finds them: in the last
// paragraph of the message, which must not be its first (the subject); a
// paragraph is a trailer block when all its lines are "Key: value" trailers
// (continuation lines start with white space, '#' comment lines are
// skipped), or when at least a quarter of them are and one starts with a
// git-generated prefix (Signed-off-by:, (cherry picked from commit). The key
// is matched case-insensitively, as git does.
func OwnChangeID(message string) (string, bool) {
	for _, t := range trailers(message) {
		if strings.EqualFold(t[0], TrailerKey) && t[1] != "" {
			return t[1], true
		}
	}
	return "", false
}

// trailers returns the (key, value) pairs of the message's trailer block.
func trailers(message string) [][2]string {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	lines := strings.Split(message, "\n")
	// A "---" line starts a patch or notes: the message ends before it.
	for i, l := range lines {
		if l == "---" || strings.HasPrefix(l, "--- ") {
			lines = lines[:i]
			break
		}
	}
	blank := func(l string) bool { return strings.TrimSpace(l) == "" }
	end := len(lines)
	for end > 0 && blank(lines[end-1]) {
		end--
	}
	start := end
	for start > 0 && !blank(lines[start-1]) {
		start--
	}
	// The first paragraph is the subject, never trailers.
	first := 0
	for first < len(lines) && blank(lines[first]) {
		first++
	}
	if start <= first {
		return nil
	}

	var out [][2]string
	var nonTrailers int
	recognized := false
	for _, l := range lines[start:end] {
		switch {
		case strings.HasPrefix(l, "#"):
			continue
		case l[0] == ' ' || l[0] == '\t':
			if len(out) > 0 {
				last := &out[len(out)-1]
				last[1] = strings.TrimSpace(last[1] + " " + strings.TrimSpace(l))
			} else {
				nonTrailers++
			}
			continue
		}
		if strings.HasPrefix(l, "(cherry picked from commit ") {
			// git counts it as a trailer; it has no key for us.
			recognized = true
			out = append(out, [2]string{"", ""})
			continue
		}
		k, v, ok := splitTrailer(l)
		if !ok {
			nonTrailers++
			continue
		}
		if strings.EqualFold(k, "Signed-off-by") {
			recognized = true
		}
		out = append(out, [2]string{k, v})
	}
	if len(out) == 0 {
		return nil
	}
	if nonTrailers > 0 && !(recognized && len(out)*3 >= nonTrailers) {
		return nil
	}
	return out
}

// splitTrailer splits "Key: value" (white space allowed before the colon);
// the key is letters, digits and '-'.
func splitTrailer(l string) (string, string, bool) {
	i := strings.IndexByte(l, ':')
	if i <= 0 {
		return "", "", false
	}
	k := strings.TrimRight(l[:i], " \t")
	if k == "" {
		return "", "", false
	}
	for _, r := range k {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	return k, strings.TrimSpace(l[i+1:]), true
}
