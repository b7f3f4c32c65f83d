// Package ui is day2's full-screen console (bubbletea v2). It renders
// snapshots of state that arrive as messages and turns keys into intents; it
// never does I/O itself.
package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Level is how a row or value should catch the eye; data carries a level,
// never a colour, so rendering stays the only place that knows colours.
type Level int

const (
	LevelNormal Level = iota
	LevelDim
	LevelWarn
	LevelBad
	LevelGood
)

// Styles is the one theme of the program. It sticks to the 16 ANSI colours
// (and reverse video for the selection) so it reads on any terminal; with
// NO_COLOR the renderer drops the colours and the layout still tells.
type Styles struct {
	Title       lipgloss.Style
	Info        lipgloss.Style
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	TableHeader lipgloss.Style
	Selected    lipgloss.Style
	Label       lipgloss.Style
	Banner      lipgloss.Style
	StatusBar   lipgloss.Style
	HelpTitle   lipgloss.Style
	HelpKey     lipgloss.Style
	levels      map[Level]lipgloss.Style
}

// DefaultStyles is the theme.
func DefaultStyles() Styles {
	return Styles{
		Title:       lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6")),
		Info:        lipgloss.NewStyle(),
		TabActive:   lipgloss.NewStyle().Bold(true).Reverse(true),
		TabInactive: lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		// Bold, not underlined: lipgloss underlines cell by cell, which costs
		// bytes on every redraw over a slow link.
		TableHeader: lipgloss.NewStyle().Bold(true),
		Selected:    lipgloss.NewStyle().Reverse(true),
		Label:       lipgloss.NewStyle().Bold(true),
		Banner:      lipgloss.NewStyle().Bold(true).Reverse(true).Foreground(lipgloss.Color("1")),
		StatusBar:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		HelpTitle:   lipgloss.NewStyle().Bold(true),
		HelpKey:     lipgloss.NewStyle().Bold(true),
		levels: map[Level]lipgloss.Style{
			LevelNormal: lipgloss.NewStyle(),
			LevelDim:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
			LevelWarn:   lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
			LevelBad:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
			LevelGood:   lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		},
	}
}

// Level styles text by level.
func (s Styles) Level(l Level) lipgloss.Style { return s.levels[l] }

// helpModel is bubbles' help in this theme's colours.
func (s Styles) helpModel() help.Model {
	h := help.New()
	key := lipgloss.NewStyle().Bold(true)
	desc := s.StatusBar
	h.Styles.ShortKey, h.Styles.ShortDesc, h.Styles.ShortSeparator = key, desc, desc
	h.Styles.FullKey, h.Styles.FullDesc, h.Styles.FullSeparator = key, lipgloss.NewStyle(), desc
	h.Styles.Ellipsis = desc
	return h
}
