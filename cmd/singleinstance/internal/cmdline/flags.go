package cmdline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Value is the value of a flag: Set parses a word of the command line
// into it, String shows it (and, when the flag is defined, its default),
// and Type names it in help ("duration" in "--timeout duration"). A
// boolean flag's Type is "bool": it takes no word, only --flag=false.
type Value interface {
	String() string
	Set(string) error
	Type() string
}

// A Flag is one --name (and -x) flag.
type Flag struct {
	Name      string // the long name, without "--"
	Shorthand string // one letter, without "-"; "" if none
	Usage     string
	Value     Value
	DefValue  string // Value.String() when the flag was defined
	// NoValue, if set, is the value of the flag given without one
	// ("--wait" alone): it then never takes the next word as its value.
	NoValue string
	Hidden  bool // left out of help and completion; still parsed
	Changed bool // set on the command line
}

// isBool reports whether the flag takes no word of its own.
func (f *Flag) isBool() bool { return f.Value.Type() == "bool" }

// takesWord reports whether "--name WORD" gives the flag WORD.
func (f *Flag) takesWord() bool { return !f.isBool() && f.NoValue == "" }

// A FlagSet is the flags of one command, local or persistent (inherited
// by the command's descendants).
type FlagSet struct {
	byName map[string]*Flag
}

func (fs *FlagSet) add(f *Flag) *Flag {
	if fs.byName == nil {
		fs.byName = make(map[string]*Flag)
	}
	if _, dup := fs.byName[f.Name]; dup {
		panic("cmdline: flag --" + f.Name + " defined twice")
	}
	f.DefValue = f.Value.String()
	fs.byName[f.Name] = f
	return f
}

// Var defines a flag --name whose value is v.
func (fs *FlagSet) Var(v Value, name, usage string) *Flag {
	return fs.add(&Flag{Name: name, Usage: usage, Value: v})
}

// BoolVar defines a boolean flag --name stored in p.
func (fs *FlagSet) BoolVar(p *bool, name string, value bool, usage string) *Flag {
	return fs.BoolVarP(p, name, "", value, usage)
}

// BoolVarP is BoolVar with a one-letter shorthand (-x).
func (fs *FlagSet) BoolVarP(p *bool, name, shorthand string, value bool, usage string) *Flag {
	*p = value
	return fs.add(&Flag{Name: name, Shorthand: shorthand, Usage: usage, Value: (*boolValue)(p)})
}

// StringVar defines a flag --name whose string value is stored in p.
func (fs *FlagSet) StringVar(p *string, name, value, usage string) *Flag {
	*p = value
	return fs.add(&Flag{Name: name, Usage: usage, Value: (*stringValue)(p)})
}

// IntVar defines a flag --name whose integer value is stored in p.
func (fs *FlagSet) IntVar(p *int, name string, value int, usage string) *Flag {
	*p = value
	return fs.add(&Flag{Name: name, Usage: usage, Value: (*intValue)(p)})
}

// Lookup returns the flag --name, or nil.
func (fs *FlagSet) Lookup(name string) *Flag { return fs.byName[name] }

// shorthand returns the flag -c, or nil.
func (fs *FlagSet) shorthand(c string) *Flag {
	for _, f := range fs.byName {
		if f.Shorthand == c {
			return f
		}
	}
	return nil
}

// All returns the flags sorted by name.
func (fs *FlagSet) All() []*Flag {
	out := make([]*Flag, 0, len(fs.byName))
	for _, f := range fs.byName {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *Flag) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Usages lists the flags that are not hidden, one a line, sorted by name,
// their descriptions aligned:
//
//	-v, --verbose            say what is happening on stderr
//	    --timeout duration   give up after this long (default 10s)
func (fs *FlagSet) Usages() string {
	type row struct{ left, right string }
	var rows []row
	width := 0
	for _, f := range fs.All() {
		if f.Hidden {
			continue
		}
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		if !f.isBool() {
			left += " " + f.Value.Type()
		}
		if f.NoValue != "" {
			left += "[=" + f.NoValue + "]"
		}
		right := f.Usage
		if f.HasDefault() {
			if f.Value.Type() == "string" {
				right += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				right += " (default " + f.DefValue + ")"
			}
		}
		rows = append(rows, row{left, right})
		width = max(width, len(left))
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.left)
		b.WriteString(strings.Repeat(" ", width-len(r.left)+3))
		b.WriteString(r.right)
		b.WriteByte('\n')
	}
	return b.String()
}

// HasDefault reports whether f's default is worth stating: it is not its
// type's zero value, which help does not mention.
func (f *Flag) HasDefault() bool {
	switch f.DefValue {
	case "", "false", "0", "[]", "<nil>":
		return false
	}
	return true
}

type boolValue bool

func (b *boolValue) String() string { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) Type() string   { return "bool" }
func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("not a boolean: use true or false")
	}
	*b = boolValue(v)
	return nil
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Type() string       { return "string" }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

type intValue int

func (i *intValue) String() string { return strconv.Itoa(int(*i)) }
func (i *intValue) Type() string   { return "int" }
func (i *intValue) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	*i = intValue(v)
	return nil
}
