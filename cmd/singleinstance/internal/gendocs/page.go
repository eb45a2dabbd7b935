package main

import (
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// page is the man page of c, in roff: its name and one-line description,
// its usage, its help text, its flags and those it inherits, and the pages
// of its parent and commands.
func page(c *cmdline.Command, version string, date time.Time) string {
	var b strings.Builder
	title := strings.ToUpper(strings.TrimSuffix(ManPage(c), ".1"))
	b.WriteString(`.TH "` + title + `" "1" "` + date.Format("Jan 2006") + `" "singleinstance ` + version + `" "singleinstance manual"` + "\n")
	b.WriteString(".nh\n.ad l\n") // no hyphens in names and paths, no stretched lines
	b.WriteString(".SH NAME\n" + escape(strings.TrimSuffix(ManPage(c), ".1")+" - "+c.Short) + "\n")
	if c.Run != nil {
		b.WriteString(".SH SYNOPSIS\n\\fB" + escape(c.UseLine()) + "\\fR\n")
	}
	b.WriteString(".SH DESCRIPTION\n")
	text := c.Long
	if text == "" {
		text = c.Short
	}
	b.WriteString(body(text))
	if flags := visible(c.Flags().All(), c.PersistentFlags().All()); len(flags) > 0 {
		b.WriteString(".SH OPTIONS\n" + options(flags))
	}
	var inherited []*cmdline.Flag
	for p := c.Parent(); p != nil; p = p.Parent() {
		inherited = append(inherited, p.PersistentFlags().All()...)
	}
	if flags := visible(inherited); len(flags) > 0 {
		b.WriteString(".SH OPTIONS INHERITED FROM PARENT COMMANDS\n" + options(flags))
	}
	var see []string
	if p := c.Parent(); p != nil {
		see = append(see, seeAlso(p))
	}
	for _, sub := range c.Commands() {
		if sub.Documented() {
			see = append(see, seeAlso(sub))
		}
	}
	if len(see) > 0 {
		b.WriteString(".SH SEE ALSO\n" + strings.Join(see, ",\n") + "\n")
	}
	return b.String()
}

// seeAlso refers to c's page.
func seeAlso(c *cmdline.Command) string {
	return `\fB` + escape(strings.TrimSuffix(ManPage(c), ".1")) + `\fR(1)`
}

// visible returns the flags that are not hidden.
func visible(sets ...[]*cmdline.Flag) []*cmdline.Flag {
	var out []*cmdline.Flag
	for _, set := range sets {
		for _, f := range set {
			if !f.Hidden {
				out = append(out, f)
			}
		}
	}
	return out
}

// options lists flags as tagged paragraphs.
func options(flags []*cmdline.Flag) string {
	var b strings.Builder
	for _, f := range flags {
		tag := `\fB` + escape("--"+f.Name) + `\fR`
		if f.Shorthand != "" {
			tag = `\fB` + escape("-"+f.Shorthand) + `\fR, ` + tag
		}
		if t := f.Value.Type(); t != "bool" {
			tag += " \\fI" + escape(t) + "\\fR"
		}
		usage := f.Usage
		if f.HasDefault() {
			usage += " (default " + f.DefValue + ")"
		}
		b.WriteString(".TP\n" + tag + "\n" + escape(usage) + "\n")
	}
	return b.String()
}

// body turns a help text into roff: paragraphs at blank lines, and lines
// indented by two spaces or more (lists of exit codes, examples, tables)
// kept as they are, unfilled.
func body(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	pre := false
	for i, line := range lines {
		indented := strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "\t")
		switch {
		case strings.TrimSpace(line) == "":
			if pre {
				b.WriteString(".fi\n.RE\n")
				pre = false
			}
			if i > 0 && i < len(lines)-1 {
				b.WriteString(".PP\n")
			}
			continue
		case indented && !pre:
			b.WriteString(".RS 2\n.nf\n")
			pre = true
		case !indented && pre:
			b.WriteString(".fi\n.RE\n")
			pre = false
		}
		b.WriteString(escape(line) + "\n")
	}
	if pre {
		b.WriteString(".fi\n.RE\n")
	}
	return b.String()
}

// escape makes s safe as roff text: backslashes and hyphens are escaped
// (so that flags copy as typed), and a line cannot start a request.
func escape(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
