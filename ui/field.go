package ui

import (
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// newField is the console's one text editor (bubbles' textinput) for every
// text field: the form, the filter, the command line and the confirmation
// line. It edits runes, takes bracketed paste, and has the usual editing
// keys (←/→, home/end, ctrl+u, ctrl+w, ctrl+k). The cursor does not blink:
// a blinking cursor redraws the screen every half second over slow links.
func newField(value string) textinput.Model {
	f := textinput.New()
	f.Prompt = ""
	s := textinput.DefaultDarkStyles()
	plain := lipgloss.NewStyle()
	s.Focused.Text, s.Focused.Prompt, s.Blurred.Text, s.Blurred.Prompt = plain, plain, plain, plain
	s.Cursor.Blink = false
	f.SetStyles(s)
	f.SetValue(value)
	f.CursorEnd()
	f.Focus()
	return f
}
