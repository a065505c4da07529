package sandbox

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// truncationMarker starts the note appended to a cut output, whichever
// layer cut it; what was left out, the layer and its limit follow:
// "\n... [output truncated: 5 characters omitted by the primitive (limit
// 25 characters)]", "... 120 bytes omitted by the sandbox (limit 1048576
// bytes)]".
const truncationMarker = "\n... [output truncated: "

// backendNoteInfix names the backend as the layer that dropped output.
const backendNoteInfix = " omitted by the sandbox ("

// BackendTruncationNote returns the note a backend appends where it dropped
// output past its own limit, e.g. BackendTruncationNote("120 bytes",
// "limit 1048576 bytes"). It has the primitive's format, and the
// primitive sets CodeOutput.Truncated when a text it returns contains it,
// so there is one truncation story whichever layer cut. Code that prints
// such a note itself makes its output look truncated. It is a pure
// function, safe for concurrent use.
func BackendTruncationNote(omitted, limit string) string {
	return truncationMarker + omitted + backendNoteInfix + limit + ")]\n"
}

// hasBackendNote reports whether s contains a backend's truncation note.
func hasBackendNote(s string) bool {
	i := strings.Index(s, truncationMarker)
	return i >= 0 && strings.Contains(s[i:], backendNoteInfix)
}

// boundedText accumulates text up to max characters (Unicode code points,
// an invalid byte counting as one) and counts the characters beyond it
// without keeping them, so its memory is bounded by max whatever is added.
type boundedText struct {
	max     int
	kept    int // characters kept
	omitted int // characters left out
	first   string
	b       strings.Builder
	parts   int
	backend bool // a backend's note was seen: it dropped output
}

func newBoundedText(max int) boundedText { return boundedText{max: max} }

// add appends s, or the part of it that fits.
func (t *boundedText) add(s string) {
	if s == "" {
		return
	}
	if !t.backend && hasBackendNote(s) {
		t.backend = true
	}
	room := t.max - t.kept
	if room <= 0 {
		t.omitted += utf8.RuneCountInString(s)
		return
	}
	n := utf8.RuneCountInString(s)
	if n <= room {
		t.write(s)
		t.kept += n
		return
	}
	cut := byteIndexOfRune(s, room)
	t.write(s[:cut])
	t.kept = t.max
	t.omitted += n - room
}

// write keeps s, without copying when it is the only part.
func (t *boundedText) write(s string) {
	switch t.parts {
	case 0:
		t.first = s
	case 1:
		t.b.Grow(len(t.first) + len(s))
		t.b.WriteString(t.first)
		t.first = ""
		t.b.WriteString(s)
	default:
		t.b.WriteString(s)
	}
	t.parts++
}

// truncated reports whether anything was left out, here or by the backend.
func (t *boundedText) truncated() bool { return t.omitted > 0 || t.backend }

// String returns the kept text, followed by the truncation marker when
// something was left out.
func (t *boundedText) String() string {
	s := t.first
	if t.parts > 1 {
		s = t.b.String()
	}
	if t.omitted == 0 {
		return s
	}
	return s + truncationMarker + strconv.Itoa(t.omitted) + " characters omitted by the primitive (limit " + strconv.Itoa(t.max) + " characters)]"
}

// byteIndexOfRune returns the byte offset of the n-th character of s (or
// len(s)).
func byteIndexOfRune(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// truncate cuts s to max characters with the marker; it reports whether it
// or the backend (see [BackendTruncationNote]) cut anything.
func truncate(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, hasBackendNote(s)
	}
	t := newBoundedText(max)
	t.add(s)
	return t.String(), t.truncated()
}
