package kubectlk8sta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// What holds a station, as status.stations[].heldBy says: function-k8sta's
// HeldBy constants (fn/progression.go), which kubectl k8sta does not import
// so as not to link the function SDK. TestFunctionVocabulary keeps them equal.
const (
	heldByWindow   = "Window"
	heldByFreeze   = "Freeze"
	heldByApproval = "Approval"
	heldByPin      = "Pin"
)

// Station phases status.stations[].phase says besides a Ticket's own
// (v1alpha1.PhaseVerified, PhaseFailed, PhaseBlocked): function-k8sta's
// Phase constants, kept equal the same way.
const (
	phaseWaiting    = "Waiting"
	phaseDelivering = "Delivering"
	phaseSoaking    = "Soaking"
)

// A StatusDocument is what `status -o json` prints: the facts the transit
// map shows, times in RFC 3339 UTC, fields in a fixed order.
type StatusDocument struct {
	Track     string        `json:"track"`
	Namespace string        `json:"namespace"`
	Promoted  *DocCondition `json:"promoted,omitempty"`
	Valid     *DocCondition `json:"valid,omitempty"`
	Stations  []DocStation  `json:"stations"`
}

// A DocCondition is a condition of the Track.
type DocCondition struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// A DocStation is a station of the Track.
type DocStation struct {
	// Path is the station's path, as controls name it.
	Path string `json:"path"`
	// Junction is the path of the junction station whose section the
	// station is on, and Section that section's name; empty on the Track's
	// own line.
	Junction string     `json:"junction,omitempty"`
	Section  string     `json:"section,omitempty"`
	Change   *DocChange `json:"change,omitempty"`
	Phase    string     `json:"phase"`
	Since    *time.Time `json:"since,omitempty"`
	// HeldBy is what holds the station: Window, Freeze, Approval or Pin.
	HeldBy string `json:"heldBy,omitempty"`
	// HeldAt is the path of the junction whose control holds Next back,
	// when it is not the station's own.
	HeldAt  string     `json:"heldAt,omitempty"`
	Next    *DocChange `json:"next,omitempty"`
	Until   *time.Time `json:"until,omitempty"`
	Message string     `json:"message,omitempty"`
}

// A DocChange is a change and what is known of it.
type DocChange struct {
	ID string `json:"id"`
	// Label is the tag of its first image, else its short commit, else its
	// id.
	Label  string           `json:"label"`
	Commit string           `json:"commit,omitempty"`
	Images []v1alpha1.Image `json:"images,omitempty"`
}

func docChange(known Changes, id string) *DocChange {
	if id == "" {
		return nil
	}
	i := known.Info(id)
	return &DocChange{ID: id, Label: i.Label(), Commit: i.Commit, Images: i.Images}
}

func docTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func docCondition(c *Condition) *DocCondition {
	if c == nil {
		return nil
	}
	return &DocCondition{Status: c.Status, Reason: c.Reason, Message: c.Message}
}

// Document is the Track as `status -o json` prints it.
func Document(t *Track, known Changes) StatusDocument {
	d := StatusDocument{Track: t.Name, Namespace: t.Namespace, Promoted: docCondition(t.Promoted), Valid: docCondition(t.Valid),
		Stations: make([]DocStation, 0, len(t.Stations))}
	for _, s := range t.Stations {
		ds := DocStation{Path: s.Path, Change: docChange(known, s.Change), Phase: s.Phase, Since: docTime(s.Since),
			HeldBy: s.HeldBy, HeldAt: s.HeldAt, Next: docChange(known, s.Next), Until: docTime(s.Until), Message: s.Message}
		if segs := strings.Split(s.Path, "."); len(segs) >= 3 && len(segs)%2 == 1 {
			ds.Junction = strings.Join(segs[:len(segs)-2], ".")
			ds.Section = segs[len(segs)-2]
		}
		d.Stations = append(d.Stations, ds)
	}
	return d
}

// WriteJSON writes v as indented JSON in which every rune clean would
// escape is a \u escape: encoding/json escapes C0 controls but writes DEL,
// C1 controls (an 8-bit CSI moves a terminal's cursor) and bidirectional
// overrides as they are, and -o json is read on terminals too.
func WriteJSON(w io.Writer, v any) error {
	b := &bytes.Buffer{}
	e := json.NewEncoder(b)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		return errors.Wrap(err, "cannot write JSON")
	}
	_, err := io.WriteString(w, escapeUnsafe(b.String()))
	return errors.Wrap(err, "cannot write JSON")
}

// escapeUnsafe writes each unsafe rune of a JSON document as a \u escape.
// Outside its strings a JSON document is ASCII without controls, so every
// such rune is inside a string, where the escape means the same rune.
func escapeUnsafe(doc string) string {
	unsafeInString := func(r rune) bool { return r != '\n' && unsafeRune(r) }
	if !strings.ContainsFunc(doc, unsafeInString) {
		return doc
	}
	b := &strings.Builder{}
	for _, r := range doc {
		if unsafeInString(r) {
			fmt.Fprintf(b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// A Printer writes what kubectl k8sta shows people.
type Printer struct {
	// Now is the time relative times are counted from.
	Now time.Time
	// Color is true on a terminal.
	Color bool
}

// ANSI colors of the transit map on a terminal.
const (
	colorNone   = ""
	colorBold   = "1"
	colorDim    = "2"
	colorRed    = "31"
	colorGreen  = "32"
	colorYellow = "33"
	colorCyan   = "36"
)

func (p Printer) paint(color, s string) string {
	if !p.Color || color == colorNone || s == "" {
		return s
	}
	return "\x1b[" + color + "m" + s + "\x1b[0m"
}

func phaseColor(phase string) string {
	switch phase {
	case v1alpha1.PhaseVerified:
		return colorGreen
	case phaseDelivering, phaseSoaking:
		return colorYellow
	case v1alpha1.PhaseFailed, v1alpha1.PhaseBlocked:
		return colorRed
	case phaseWaiting:
		return colorDim
	}
	return colorNone
}

// A node is a station on the transit map, and the sections its junction
// feeds.
type node struct {
	name     string
	station  *Station // nil for a junction without Applications
	sections []*section
}

// A section is a Track a junction feeds: a line of stations.
type section struct {
	name string
	line []*node
}

// transitMap lays the stations out as lines: a path a.b.c is station c on
// section b, which junction a feeds.
func transitMap(stations []Station) []*node {
	var root []*node
	for i := range stations {
		s := &stations[i]
		segs := strings.Split(s.Path, ".")
		if len(segs)%2 == 0 {
			// Not a path function-k8sta writes: shown whole.
			segs = []string{s.Path}
		}
		line := &root
		for j := 0; ; j += 2 {
			n := nodeNamed(line, segs[j])
			if j == len(segs)-1 {
				n.station = s
				break
			}
			sec := sectionNamed(n, segs[j+1])
			line = &sec.line
		}
	}
	return root
}

func nodeNamed(line *[]*node, name string) *node {
	for _, n := range *line {
		if n.name == name {
			return n
		}
	}
	n := &node{name: name}
	*line = append(*line, n)
	return n
}

func sectionNamed(n *node, name string) *section {
	for _, s := range n.sections {
		if s.name == name {
			return s
		}
	}
	s := &section{name: name}
	n.sections = append(n.sections, s)
	return s
}

// A cell is a table cell and its color on a terminal.
type cell struct {
	text, color string
}

// WriteStatus writes the Track as a transit map: its conditions, then a
// table of its stations in order, junction fan-out drawn as branches, each
// station's change, phase, since when, and what holds it.
func (p Printer) WriteStatus(w io.Writer, t *Track, known Changes) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s %s in namespace %s\n", p.paint(colorBold, "Track"), p.paint(colorBold, clean(t.Name)), clean(t.Namespace))
	for _, c := range []struct {
		typ  string
		cond *Condition
	}{{conditionPromoted, t.Promoted}, {conditionValid, t.Valid}} {
		if c.cond == nil || c.typ == conditionValid && c.cond.Status == "True" {
			continue
		}
		color := colorYellow
		switch {
		case c.cond.Status == "True":
			color = colorGreen
		case c.cond.Reason == reasonHalted || c.typ == conditionValid:
			color = colorRed
		}
		line := fmt.Sprintf("%s: %s, %s", c.typ, c.cond.Status, c.cond.Reason)
		if c.cond.Reason == c.typ || c.cond.Reason == "" {
			// Promoted: True, Promoted says it twice.
			line = fmt.Sprintf("%s: %s", c.typ, c.cond.Status)
		}
		if c.cond.Message != "" {
			line += ": " + c.cond.Message
		}
		fmt.Fprintln(b, p.paint(color, clean(line)))
	}
	if t.Promoted == nil && (t.Valid == nil || t.Valid.Status == "True") && len(t.Stations) == 0 && !t.Section() {
		fmt.Fprintln(b, "function-k8sta has not reported on this Track yet")
	}
	if t.Section() {
		fmt.Fprintf(b, "\nTrack %s is a section: its stations show in the status of the Track whose junction feeds it.\n", clean(t.Name))
		_, err := io.WriteString(w, b.String())
		return errors.Wrap(err, "cannot write the status")
	}
	if len(t.Stations) == 0 {
		_, err := io.WriteString(w, b.String())
		return errors.Wrap(err, "cannot write the status")
	}

	rows := [][]cell{{{"STATION", colorNone}, {"CHANGE", colorNone}, {"ID", colorNone}, {"PHASE", colorNone}, {"SINCE", colorNone}, {"HOLD", colorNone}}}
	var walk func(line []*node, indent string)
	walk = func(line []*node, indent string) {
		for _, n := range line {
			rows = append(rows, p.stationRow(indent, n, known))
			for i, sec := range n.sections {
				branch, cont := "├─ ", "│  "
				if i == len(n.sections)-1 {
					branch, cont = "└─ ", "   "
				}
				rows = append(rows, []cell{{indent + branch + clean(sec.name), colorNone}})
				walk(sec.line, indent+cont)
			}
		}
	}
	walk(transitMap(t.Stations), "")
	fmt.Fprintln(b)
	p.table(b, rows)

	// What to approve: a station, or the junction that holds its sections
	// back, once.
	told := map[string]bool{}
	for i := range t.Stations {
		if s := &t.Stations[i]; s.HeldBy == heldByApproval && s.Next != "" && !told[approvedAt(s)] {
			at := approvedAt(s)
			told[at] = true
			fmt.Fprintf(b, "\n%s waits for approval: kubectl k8sta approve %s %s -n %s", clean(at), clean(t.Name), clean(at), clean(t.Namespace))
		}
	}
	if strings.HasSuffix(b.String(), "\n") {
		_, err := io.WriteString(w, b.String())
		return errors.Wrap(err, "cannot write the status")
	}
	_, err := io.WriteString(w, b.String()+"\n")
	return errors.Wrap(err, "cannot write the status")
}

func (p Printer) stationRow(indent string, n *node, known Changes) []cell {
	name := cell{indent + clean(n.name), colorBold}
	s := n.station
	if s == nil {
		// A junction without Applications: it only feeds its sections.
		return []cell{name}
	}
	row := []cell{name, {}, {}, {clean(s.Phase), phaseColor(s.Phase)}, {}, {}}
	if s.Change != "" {
		row[1] = cell{clean(known.Info(s.Change).Label()), colorCyan}
		row[2] = cell{clean(s.Change), colorDim}
	}
	if !s.Since.IsZero() {
		row[4] = cell{p.ago(s.Since), colorNone}
	}
	if h := p.hold(s, known); h != "" {
		color := colorYellow
		if s.HeldBy == "" && (s.Phase == v1alpha1.PhaseFailed || s.Phase == v1alpha1.PhaseBlocked) {
			color = colorRed
		}
		row[5] = cell{h, color}
	}
	return row
}

// hold says what holds the station and the change that waits at it.
func (p Printer) hold(s *Station, known Changes) string {
	msg := p.why(s)
	if s.Next != "" {
		next := named(known, s.Next)
		if strings.Contains(msg, s.Next) {
			msg = strings.Replace(msg, s.Next, next, 1)
		} else {
			msg = strings.TrimPrefix(msg+"; next: "+next, "; ")
		}
	}
	return clean(msg)
}

// why says what holds the station, in the words of its status message
// (without the path it starts with), and how long a window still holds it.
func (p Printer) why(s *Station) string {
	msg := s.Message
	if msg == "" {
		switch s.HeldBy {
		case heldByApproval:
			msg = "waits for approval"
		case heldByFreeze:
			msg = "frozen"
		case heldByWindow:
			msg = "waits for a window"
		case heldByPin:
			msg = "pinned"
		}
	}
	if !s.Until.IsZero() && s.Until.After(p.Now) {
		msg += " (in " + duration.HumanDuration(s.Until.Sub(p.Now)) + ")"
	}
	return clean(msg)
}

// ago is how long ago t was, as kubectl shows ages: 45s, 3m, 2d5h.
func (p Printer) ago(t time.Time) string {
	return duration.HumanDuration(max(p.Now.Sub(t), 0))
}

// table writes rows in columns two spaces apart, the last unpadded.
func (p Printer) table(b *strings.Builder, rows [][]cell) {
	widths := []int{}
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, r := range rows {
		line := &strings.Builder{}
		for i, c := range r {
			line.WriteString(p.paint(c.color, c.text))
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteString("\n")
	}
}

// clean makes text a tenant wrote (a station's message quotes its Ticket,
// which quotes Argo CD) safe for a terminal: control characters, invalid
// UTF-8 and bidirectional overrides are shown escaped, never interpreted.
func clean(s string) string {
	safe := utf8.ValidString(s)
	for _, r := range s {
		if unsafeRune(r) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	b := &strings.Builder{}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
