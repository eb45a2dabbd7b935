// Package cmdline runs a tree of commands from a command line of the
// usual form: a program, its command words ("completion bash"), then flags
// and arguments in any order ("--name value", "--name=value", "-x",
// "-xy"), up to "--", after which every word is an argument. It writes
// each command's help, and serves shell completion (see completion.go).
//
// It is what the singleinstance command needs of a command-line framework
// and no more: a guarded program pays the command's start-up on each of
// its own starts, and a general framework links and initialises far more
// than this (regular expressions, templates, network address types).
package cmdline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// A Command is one command of a tree: the program itself (the root), a
// command it runs ("check"), a group of commands ("completion"), or a help
// topic (no Run and no commands: "help etcd" shows it).
type Command struct {
	// Use is the command's usage: its name, then what follows it
	// ("check NAME"). The name is the command's first word.
	Use string
	// Short is the one-line description in lists of commands; Long is
	// the text of its help (Short if empty).
	Short, Long string
	// Args checks the arguments (the words that are not flags); nil takes
	// any.
	Args func(c *Command, args []string) error
	// Run runs the command; nil for a group or a help topic.
	Run func(c *Command, args []string) error
	// BeforeRun, on the root, runs before the Run of every command, with
	// the command and its arguments.
	BeforeRun func(c *Command, args []string) error
	// Complete offers the completions of an argument (toComplete, as
	// typed so far) that follows args; nil offers files.
	Complete func(c *Command, args []string, toComplete string) ([]string, Directive)
	// Hidden leaves the command out of help and completion.
	Hidden bool
	// Verbatim takes every word after the command words as an argument,
	// flags included.
	Verbatim bool
	// Annotations are the caller's notes on the command.
	Annotations map[string]string
	// Version, on the root, adds --version, which prints VersionText.
	Version, VersionText string
	// UsageFooter, on the root, ends the help of every command.
	UsageFooter string

	flags, persistent FlagSet
	parent            *Command
	commands          []*Command

	ctx           context.Context
	stdout        io.Writer
	argsLenAtDash int
	help, version bool
}

// Name is the first word of Use.
func (c *Command) Name() string {
	name, _, _ := strings.Cut(c.Use, " ")
	return name
}

// Parent is the command c belongs to, nil for the root.
func (c *Command) Parent() *Command { return c.parent }

// Root is the root of c's tree.
func (c *Command) Root() *Command {
	for c.parent != nil {
		c = c.parent
	}
	return c
}

// CommandPath is the program name and command words that run c.
func (c *Command) CommandPath() string {
	if c.parent == nil {
		return c.Name()
	}
	return c.parent.CommandPath() + " " + c.Name()
}

// UseLine is c's usage with its command path: Use after the parent's path,
// and " [flags]" unless Use says where the flags go.
func (c *Command) UseLine() string {
	line := c.Use
	if c.parent != nil {
		line = c.parent.CommandPath() + " " + c.Use
	}
	if !strings.Contains(line, "[flags]") {
		line += " [flags]"
	}
	return line
}

// AddCommand adds commands to c.
func (c *Command) AddCommand(cmds ...*Command) {
	for _, sub := range cmds {
		if sub.parent != nil {
			panic("cmdline: command " + sub.Name() + " added twice")
		}
		sub.parent = c
		c.commands = append(c.commands, sub)
	}
}

// Commands returns c's commands, sorted by name.
func (c *Command) Commands() []*Command {
	out := slices.Clone(c.commands)
	slices.SortFunc(out, func(a, b *Command) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// command returns c's command named name, or nil.
func (c *Command) command(name string) *Command {
	for _, sub := range c.commands {
		if sub.Name() == name {
			return sub
		}
	}
	return nil
}

// Flags are c's own flags; PersistentFlags are c's flags that its
// commands, and theirs, take too.
func (c *Command) Flags() *FlagSet { return &c.flags }

// PersistentFlags: see Flags.
func (c *Command) PersistentFlags() *FlagSet { return &c.persistent }

// Lookup returns the flag --name that c takes (its own, or one inherited),
// or nil.
func (c *Command) Lookup(name string) *Flag {
	for _, fs := range c.flagSets() {
		if f := fs.Lookup(name); f != nil {
			return f
		}
	}
	return nil
}

// Changed reports whether the flag --name of c was set on the command line.
func (c *Command) Changed(name string) bool {
	f := c.Lookup(name)
	return f != nil && f.Changed
}

// flagSets are the flags c takes: its own, its persistent ones, then its
// ancestors' persistent ones.
func (c *Command) flagSets() []*FlagSet {
	sets := []*FlagSet{&c.flags, &c.persistent}
	for p := c.parent; p != nil; p = p.parent {
		sets = append(sets, &p.persistent)
	}
	return sets
}

// inherited are the persistent flags of c's ancestors.
func (c *Command) inherited() *FlagSet {
	var fs FlagSet
	for p := c.parent; p != nil; p = p.parent {
		for _, f := range p.persistent.All() {
			if fs.Lookup(f.Name) == nil {
				fs.byName = addTo(fs.byName, f)
			}
		}
	}
	return &fs
}

// local are c's own flags, persistent or not.
func (c *Command) local() *FlagSet {
	var fs FlagSet
	for _, f := range append(c.flags.All(), c.persistent.All()...) {
		fs.byName = addTo(fs.byName, f)
	}
	return &fs
}

func addTo(m map[string]*Flag, f *Flag) map[string]*Flag {
	if m == nil {
		m = make(map[string]*Flag)
	}
	m[f.Name] = f
	return m
}

// ArgsLenAtDash is the number of arguments before "--", or -1 if the
// command line had none.
func (c *Command) ArgsLenAtDash() int { return c.argsLenAtDash }

// Context is the context Execute was given.
func (c *Command) Context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// SetContext replaces c's context.
func (c *Command) SetContext(ctx context.Context) { c.ctx = ctx }

// SetOutput sets where the tree writes help and its output (see Stdout).
// Errors are returned, not written.
func (c *Command) SetOutput(stdout io.Writer) { c.Root().stdout = stdout }

// Stdout is where c writes help and its output: the root's stdout.
func (c *Command) Stdout() io.Writer {
	if w := c.Root().stdout; w != nil {
		return w
	}
	return io.Discard
}

// runnable reports whether c runs something.
func (c *Command) runnable() bool { return c.Run != nil }

// available reports whether c shows in its parent's help.
func (c *Command) available() bool {
	if c.Hidden {
		return false
	}
	if c.runnable() {
		return true
	}
	for _, sub := range c.commands {
		if sub.available() {
			return true
		}
	}
	return false
}

// Documented reports whether c has a page of its own in the manual: it
// shows in its parent's help, as a command or a help topic, and it is not
// the help command.
func (c *Command) Documented() bool {
	return c.parent != nil && (c.available() || c.topic()) && !(c.Name() == "help" && c.parent.parent == nil)
}

// topic reports whether c is a help topic.
func (c *Command) topic() bool { return !c.Hidden && !c.runnable() && len(c.commands) == 0 }

// A UsageError is a command line that does not parse: an unknown flag or
// command, a flag without its value or with a bad one.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// NoArgs is an Args for commands that take none.
func NoArgs(c *Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q", args[0], c.CommandPath())
	}
	return nil
}

// Execute runs the command that args (the words after the program name)
// name, and returns it (nil if none was found) and its error. -h and
// --help show its help instead, as does a group or a help topic, and
// "help [COMMAND]" shows that command's.
func (c *Command) Execute(ctx context.Context, args []string) (*Command, error) {
	root := c.Root()
	root.addDefaults()
	cmd, rest := root.Find(args)
	cmd.ctx = ctx
	args, err := cmd.Parse(rest)
	if err != nil {
		return cmd, err
	}
	if cmd.help {
		return cmd, cmd.Help()
	}
	if root.version && cmd == root {
		_, err := io.WriteString(root.Stdout(), root.VersionText)
		return cmd, err
	}
	if !cmd.runnable() {
		return cmd, cmd.Help()
	}
	if root.BeforeRun != nil {
		if err := root.BeforeRun(cmd, args); err != nil {
			return cmd, err
		}
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, args); err != nil {
			return cmd, err
		}
	}
	return cmd, cmd.Run(cmd, args)
}

// addDefaults adds what every tree has: -h/--help on every command,
// --version on the root if it has a Version, and the help command.
func (c *Command) addDefaults() {
	if c.parent == nil && c.Version != "" && c.flags.Lookup("version") == nil {
		c.flags.BoolVar(&c.version, "version", false, "version for "+c.Name())
	}
	if c.Lookup("help") == nil {
		c.flags.BoolVarP(&c.help, "help", "h", false, "help for "+c.Name())
	}
	if c.parent == nil && len(c.commands) > 0 && c.command("help") == nil {
		c.AddCommand(c.helpCommand())
	}
	for _, sub := range c.commands {
		sub.addDefaults()
	}
}

// helpCommand is "help [COMMAND]".
func (c *Command) helpCommand() *Command {
	return &Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long: `Help provides help for any command in the application.
Simply type ` + c.Name() + ` help [path to command] for full details.`,
		Run: func(h *Command, args []string) error {
			target, rest := c.Find(args)
			if len(rest) > 0 || target == nil {
				target = c
			}
			return target.Help()
		},
	}
}

// Find returns the command that args name and args without its command
// words. The command words are the first words that are not flags (nor
// the values of flags known to take one) and name a command of the one
// before.
func (c *Command) Find(args []string) (*Command, []string) {
	cmd := c
	rest := args
	for {
		i := cmd.firstArg(rest)
		if i < 0 {
			return cmd, rest
		}
		sub := cmd.command(rest[i])
		if sub == nil {
			return cmd, rest
		}
		rest = append(slices.Clip(rest[:i]), rest[i+1:]...)
		cmd = sub
	}
}

// firstArg returns the index of the first word of args that is not a
// flag or a flag's value, before any "--"; -1 if there is none.
func (c *Command) firstArg(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return -1
		case len(a) < 2 || a[0] != '-':
			return i
		case strings.HasPrefix(a, "--"):
			if strings.Contains(a, "=") {
				continue
			}
			if f := c.Lookup(a[2:]); f != nil && f.takesWord() {
				i++
			}
		default:
			i += c.shortTakes(a)
		}
	}
	return -1
}

// LookupShort returns the flag -s that c takes, or nil.
func (c *Command) LookupShort(s string) *Flag {
	for _, fs := range c.flagSets() {
		if f := fs.shorthand(s); f != nil {
			return f
		}
	}
	return nil
}

// Parse sets c's flags from words, the command line after c's command
// words, and returns the arguments: the words that are not flags or their
// values, those after "--" included. A Verbatim command's arguments are
// all the words.
func (c *Command) Parse(words []string) ([]string, error) {
	if c.Verbatim {
		return words, nil
	}
	if err := c.parse(words); err != nil {
		return nil, err
	}
	return c.args(words), nil
}

// parse sets the flags of args (see Parse).
func (c *Command) parse(args []string) error {
	c.argsLenAtDash = -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return nil
		case len(a) < 2 || a[0] != '-':
			continue
		case strings.HasPrefix(a, "--"):
			n, err := c.parseLong(a, args[i+1:])
			if err != nil {
				return err
			}
			i += n
		default:
			n, err := c.parseShort(a, args[i+1:])
			if err != nil {
				return err
			}
			i += n
		}
	}
	return nil
}

// parseLong sets the flag of a ("--name" or "--name=value"), with next
// the words after it; it returns how many of them it took.
func (c *Command) parseLong(a string, next []string) (int, error) {
	name, value, hasValue := strings.Cut(a[2:], "=")
	if name == "" || name[0] == '-' {
		return 0, usageErrorf("bad flag syntax: %s", a)
	}
	f := c.Lookup(name)
	if f == nil {
		return 0, usageErrorf("unknown flag: --%s", name)
	}
	took := 0
	switch {
	case hasValue:
	case f.isBool():
		value = "true"
	case f.NoValue != "":
		value = f.NoValue
	case len(next) > 0:
		value, took = next[0], 1
	default:
		return 0, usageErrorf("flag needs an argument: --%s", name)
	}
	return took, set(f, value, "--"+name)
}

// parseShort sets the flags of a group of shorthands a ("-v", "-vx",
// "-tVALUE", "-t=VALUE"), with next the words after it; it returns how
// many of them it took.
func (c *Command) parseShort(a string, next []string) (int, error) {
	letters := a[1:]
	for len(letters) > 0 {
		s := letters[:1]
		if s == "-" || s == "=" {
			return 0, usageErrorf("bad flag syntax: %s", a)
		}
		f := c.LookupShort(s)
		if f == nil {
			return 0, usageErrorf("unknown shorthand flag: '%s' in %s", s, a)
		}
		letters = letters[1:]
		switch {
		case strings.HasPrefix(letters, "="):
			return 0, set(f, letters[1:], "-"+s+", --"+f.Name)
		case f.isBool():
			if err := set(f, "true", "-"+s+", --"+f.Name); err != nil {
				return 0, err
			}
		case f.NoValue != "" && letters == "":
			return 0, set(f, f.NoValue, "-"+s+", --"+f.Name)
		case letters != "":
			return 0, set(f, letters, "-"+s+", --"+f.Name)
		case len(next) > 0:
			return 1, set(f, next[0], "-"+s+", --"+f.Name)
		default:
			return 0, usageErrorf("flag needs an argument: '%s' in %s", s, a)
		}
	}
	return 0, nil
}

// set gives flag f value, which the command line gave it as what.
func set(f *Flag, value, what string) error {
	if err := f.Value.Set(value); err != nil {
		return usageErrorf("invalid argument %q for %q flag: %v", value, what, err)
	}
	f.Changed = true
	return nil
}

// args returns the words of a parsed command line that are not flags,
// and records how many came before "--".
func (c *Command) args(words []string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		a := words[i]
		switch {
		case a == "--":
			c.argsLenAtDash = len(out)
			return append(out, words[i+1:]...)
		case len(a) < 2 || a[0] != '-':
			out = append(out, a)
		case strings.HasPrefix(a, "--"):
			if f := c.Lookup(strings.TrimPrefix(a, "--")); f != nil && f.takesWord() && !strings.Contains(a, "=") {
				i++
			}
		default:
			i += c.shortTakes(a)
		}
	}
	return out
}

// shortTakes returns how many following words the group of shorthands a
// took as a value: 1 if its last letter takes a value it was not given in
// a itself.
func (c *Command) shortTakes(a string) int {
	letters := a[1:]
	for len(letters) > 0 {
		f := c.LookupShort(letters[:1])
		letters = letters[1:]
		if f == nil || strings.HasPrefix(letters, "=") {
			return 0
		}
		if f.takesWord() {
			if letters == "" {
				return 1
			}
			return 0
		}
	}
	return 0
}
