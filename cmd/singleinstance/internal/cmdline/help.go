package cmdline

import (
	"io"
	"strings"
)

// minPadding is the least width of the name column in lists of commands.
const minPadding = 11

// Help writes c's help to the root's stdout: its description (Long, else
// Short), then, if it runs something or has commands, its usage.
func (c *Command) Help() error {
	var b strings.Builder
	if text := strings.TrimRight(c.Long, " \t\n"); text != "" {
		b.WriteString(text + "\n\n")
	} else if c.Short != "" {
		b.WriteString(strings.TrimRight(c.Short, " \t\n") + "\n\n")
	}
	if c.runnable() || len(c.commands) > 0 {
		b.WriteString(c.Usage())
	}
	_, err := io.WriteString(c.Stdout(), b.String())
	return err
}

// Usage is c's usage: how to call it, its commands, its flags and the
// flags it inherits, its help topics, and the root's UsageFooter.
func (c *Command) Usage() string {
	var b strings.Builder
	b.WriteString("Usage:")
	if c.runnable() {
		b.WriteString("\n  " + c.UseLine())
	}
	subs := c.availableCommands()
	if len(subs) > 0 {
		b.WriteString("\n  " + c.CommandPath() + " [command]")
		b.WriteString("\n\nAvailable Commands:")
		pad := c.padding(func(s *Command) string { return s.Name() })
		for _, s := range subs {
			b.WriteString("\n  " + rpad(s.Name(), pad) + " " + s.Short)
		}
	}
	if usages := c.local().Usages(); usages != "" {
		b.WriteString("\n\nFlags:\n" + strings.TrimRight(usages, "\n"))
	}
	if usages := c.inherited().Usages(); usages != "" {
		b.WriteString("\n\nGlobal Flags:\n" + strings.TrimRight(usages, "\n"))
	}
	var topics []*Command
	for _, s := range c.Commands() {
		if s.topic() {
			topics = append(topics, s)
		}
	}
	if len(topics) > 0 {
		b.WriteString("\n\nAdditional help topics:")
		pad := c.padding(func(s *Command) string { return s.CommandPath() })
		for _, s := range topics {
			b.WriteString("\n  " + rpad(s.CommandPath(), pad) + " " + s.Short)
		}
	}
	if len(subs) > 0 {
		b.WriteString("\n\nUse \"" + c.CommandPath() + " [command] --help\" for more information about a command.")
	}
	b.WriteString("\n")
	if footer := c.Root().UsageFooter; footer != "" {
		b.WriteString("\n" + footer + "\n")
	}
	return b.String()
}

// availableCommands are the commands listed in c's help: those that show
// (see available) and help.
func (c *Command) availableCommands() []*Command {
	var out []*Command
	for _, s := range c.Commands() {
		if s.available() || s.Name() == "help" {
			out = append(out, s)
		}
	}
	return out
}

// padding is the width of a column of c's commands' names (of those
// that show).
func (c *Command) padding(name func(*Command) string) int {
	width := minPadding
	for _, s := range c.commands {
		if !s.Hidden {
			width = max(width, len(name(s)))
		}
	}
	return width
}

func rpad(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return s + strings.Repeat(" ", width-len(s))
}
