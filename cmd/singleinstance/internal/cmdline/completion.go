package cmdline

import (
	"fmt"
	"io"
	"strings"
)

// Shell completion. The script that "PROG completion SHELL" prints asks the
// program itself what to offer: it runs "PROG __complete WORDS... CURRENT"
// (WORDS: the words typed before the cursor, without PROG; CURRENT: the
// word being typed, possibly empty), which prints one completion a line,
// optionally followed by a tab and a description, and then a last line
// ":N", N being a Directive. "__completeNoDesc" prints the same without
// descriptions.

// A Directive tells the completion script what to do besides offering the
// completions printed.
type Directive int

const (
	// DirectiveError: nothing can be completed; offer nothing.
	DirectiveError Directive = 1 << iota
	// DirectiveNoSpace: do not add a space after the completion.
	DirectiveNoSpace
	// DirectiveNoFileComp: offer no file names, even if no completion
	// was printed.
	DirectiveNoFileComp

	// DirectiveDefault: offer file names if no completion was printed.
	DirectiveDefault Directive = 0
)

// Names of the hidden completion commands.
const (
	completeCmd       = "__complete"
	completeNoDescCmd = "__completeNoDesc"
)

// AddCompletion adds to the root the "completion SHELL" commands, which
// print the scripts, and the hidden commands they call.
func (c *Command) AddCompletion() {
	prog := c.Name()
	group := &Command{
		Use:   "completion",
		Short: "Generate the autocompletion script for the specified shell",
		Long: "Generate the autocompletion script for " + prog + " for the specified shell.\n" +
			"See each sub-command's help for details on how to use the generated script.",
	}
	for _, sh := range shells {
		sh := sh
		var noDesc bool
		cmd := &Command{
			Use:   sh.name,
			Short: "Generate the autocompletion script for " + sh.name,
			Long:  strings.ReplaceAll(sh.help, "PROG", prog),
			Args:  NoArgs,
			Run: func(cmd *Command, args []string) error {
				complete := completeCmd
				if noDesc {
					complete = completeNoDescCmd
				}
				script := strings.NewReplacer("PROG_", identifier(prog)+"_", "PROG", prog, "__COMPLETE", complete).Replace(sh.script)
				_, err := io.WriteString(cmd.Stdout(), script)
				return err
			},
		}
		cmd.Flags().BoolVar(&noDesc, "no-descriptions", false, "disable completion descriptions")
		group.AddCommand(cmd)
	}
	c.AddCommand(group)
	for _, name := range []string{completeCmd, completeNoDescCmd} {
		desc := name == completeCmd
		c.AddCommand(&Command{
			Use:      name + " [command-line to complete]",
			Short:    "Request shell completion choices for the specified command-line",
			Hidden:   true,
			Verbatim: true,
			Run: func(cmd *Command, args []string) error {
				return c.complete(cmd.Stdout(), args, desc)
			},
		})
	}
}

// identifier turns prog into a shell function name.
func identifier(prog string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, prog)
}

// complete prints the completions of the last of words, which follows the
// others, and the directive.
func (c *Command) complete(w io.Writer, words []string, desc bool) error {
	toComplete := ""
	if len(words) > 0 {
		toComplete = words[len(words)-1]
		words = words[:len(words)-1]
	}
	if toComplete == `""` {
		// Older PowerShell drops an empty argument: the script passes "".
		toComplete = ""
	}
	offers, dir := c.completions(words, toComplete)
	for _, o := range offers {
		name, text, _ := strings.Cut(o, "\t")
		if desc && text != "" {
			fmt.Fprintf(w, "%s\t%s\n", name, firstLine(text))
		} else {
			fmt.Fprintln(w, name)
		}
	}
	_, err := fmt.Fprintf(w, ":%d\n", dir)
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// completions returns what completes toComplete after words, each
// "completion\tdescription" or just the completion.
func (c *Command) completions(words []string, toComplete string) ([]string, Directive) {
	cmd, rest := c.Find(words)
	// The flags typed so far count, as they would on the command line:
	// --lock-dir changes which names exist. Errors do not matter here.
	_ = cmd.parse(rest)
	args := cmd.args(rest)
	afterDash := cmd.argsLenAtDash >= 0
	if !afterDash {
		if strings.HasPrefix(toComplete, "-") {
			return cmd.flagCompletions(toComplete), DirectiveNoFileComp
		}
		if len(rest) > 0 {
			// The value of a flag given as a word of its own.
			if f := cmd.flagBefore(rest[len(rest)-1]); f != nil {
				return nil, DirectiveDefault
			}
		}
	}
	if !afterDash && len(args) == 0 && len(cmd.commands) > 0 {
		var out []string
		for _, s := range cmd.availableCommands() {
			if strings.HasPrefix(s.Name(), toComplete) {
				out = append(out, s.Name()+"\t"+s.Short)
			}
		}
		if cmd.Complete == nil {
			return out, DirectiveNoFileComp
		}
		more, dir := cmd.Complete(cmd, args, toComplete)
		return append(out, more...), dir
	}
	if cmd.Complete != nil {
		return cmd.Complete(cmd, args, toComplete)
	}
	return nil, DirectiveDefault
}

// flagBefore returns the flag that word ("--name" or "-x") is, if it
// takes the next word as its value.
func (c *Command) flagBefore(word string) *Flag {
	var f *Flag
	switch {
	case strings.HasPrefix(word, "--") && !strings.Contains(word, "="):
		f = c.Lookup(word[2:])
	case len(word) == 2 && word[0] == '-':
		f = c.LookupShort(word[1:])
	}
	if f != nil && f.takesWord() {
		return f
	}
	return nil
}

// flagCompletions are the flags of c that start with prefix.
func (c *Command) flagCompletions(prefix string) []string {
	var out []string
	seen := map[string]bool{}
	for _, fs := range c.flagSets() {
		for _, f := range fs.All() {
			if f.Hidden || seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			if name := "--" + f.Name; strings.HasPrefix(name, prefix) {
				out = append(out, name+"\t"+f.Usage)
			}
			if f.Shorthand != "" && prefix == "-" {
				out = append(out, "-"+f.Shorthand+"\t"+f.Usage)
			}
		}
	}
	return out
}

// A shell is a completion script and how to install it. In the scripts,
// PROG is the program's name, PROG_ starts its shell functions' names,
// and __COMPLETE is the completion command it calls.
type shell struct {
	name, help, script string
}

var shells = []shell{
	{"bash", `Generate the autocompletion script for the bash shell.

It needs bash 4.3 or later; the bash-completion package is not needed.

To load completions in your current shell session:

	source <(PROG completion bash)

To load completions for every new session, execute once:

	PROG completion bash > /etc/bash_completion.d/PROG            # Linux
	PROG completion bash > $(brew --prefix)/etc/bash_completion.d/PROG   # macOS

You will need to start a new shell for this setup to take effect.`, bashScript},
	{"zsh", `Generate the autocompletion script for the zsh shell.

If shell completion is not already enabled in your environment you will
need to enable it. You can execute the following once:

	echo "autoload -U compinit; compinit" >> ~/.zshrc

To load completions in your current shell session:

	source <(PROG completion zsh)

To load completions for every new session, execute once:

	PROG completion zsh > "${fpath[1]}/_PROG"

You will need to start a new shell for this setup to take effect.`, zshScript},
	{"fish", `Generate the autocompletion script for the fish shell.

To load completions in your current shell session:

	PROG completion fish | source

To load completions for every new session, execute once:

	PROG completion fish > ~/.config/fish/completions/PROG.fish

You will need to start a new shell for this setup to take effect.`, fishScript},
	{"powershell", `Generate the autocompletion script for powershell.

To load completions in your current shell session:

	PROG completion powershell | Out-String | Invoke-Expression

To load completions for every new session, add the output of the above
command to your powershell profile.`, powershellScript},
}

const bashScript = `# bash completion for PROG                                 -*- shell-script -*-
# Asks PROG itself: "PROG __COMPLETE WORDS... CURRENT" prints one completion
# a line, then ":DIRECTIVE" (1: none; 2: no space after; 4: no file names).

_PROG_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local -a lines
    mapfile -t lines < <("${COMP_WORDS[0]}" __COMPLETE "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null)
    (( ${#lines[@]} > 0 )) || return
    local last=${lines[${#lines[@]}-1]}
    [[ $last == :* ]] || return
    local directive=${last#:}
    unset 'lines[${#lines[@]}-1]'
    (( directive & 1 )) && return
    COMPREPLY=()
    local line
    for line in "${lines[@]}"; do
        line=${line%%$'\t'*}
        [[ $line == "$cur"* ]] && COMPREPLY+=("$line")
    done
    (( directive & 2 )) && compopt -o nospace 2>/dev/null
    if (( ${#COMPREPLY[@]} == 0 )) && (( (directive & 4) == 0 )); then
        compopt -o default 2>/dev/null
    fi
}

complete -o bashdefault -F _PROG_complete PROG
`

const zshScript = `#compdef PROG
# zsh completion for PROG
# Asks PROG itself: "PROG __COMPLETE WORDS... CURRENT" prints one completion
# a line (a tab then its description), then ":DIRECTIVE" (1: none; 2: no
# space after; 4: no file names).

_PROG() {
    local -a lines offers
    local line directive
    lines=("${(@f)$(${words[1]} __COMPLETE "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
    (( ${#lines} > 0 )) || return 1
    directive=${lines[-1]#:}
    [[ ${lines[-1]} == :* ]] || return 1
    lines=("${(@)lines[1,-2]}")
    (( directive & 1 )) && return 1
    for line in "${lines[@]}"; do
        [[ -n $line ]] || continue
        local name=${line%%$'\t'*} text=${line#*$'\t'}
        name=${name//:/\\:}
        if [[ $line == *$'\t'* ]]; then
            offers+=("${name}:${text}")
        else
            offers+=("${name}")
        fi
    done
    if (( ${#offers} > 0 )); then
        if (( directive & 2 )); then
            _describe 'completions' offers -S ''
        else
            _describe 'completions' offers
        fi
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _PROG "$@"
else
    compdef _PROG PROG
fi
`

const fishScript = `# fish completion for PROG
# Asks PROG itself: "PROG __COMPLETE WORDS... CURRENT" prints one completion
# a line (a tab then its description), then ":DIRECTIVE" (1: none; 2: no
# space after; 4: no file names).

function __PROG_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l lines ($words[1] __COMPLETE $words[2..-1] "$current" 2>/dev/null)
    test (count $lines) -gt 0; or return
    set -l directive (string replace -r '^:' '' -- $lines[-1])
    set -e lines[-1]
    test (math "bitand($directive, 1)") -eq 0; or return
    if test (count $lines) -gt 0
        string join \n -- $lines
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path "$current"
    end
end

complete -c PROG -f -a '(__PROG_complete)'
`

const powershellScript = `# powershell completion for PROG
# Asks PROG itself: "PROG __COMPLETE WORDS... CURRENT" prints one completion
# a line (a tab then its description), then ":DIRECTIVE" (1: none; 2: no
# space after; 4: no file names).

Register-ArgumentCompleter -Native -CommandName 'PROG' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -le $cursorPosition } | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '' -and $words.Count -gt 0) { $words = @($words | Select-Object -SkipLast 1) }
    $current = if ($wordToComplete -eq '') { '""' } else { $wordToComplete }
    $lines = @(& $commandAst.CommandElements[0].ToString() __COMPLETE @words $current 2>$null)
    if ($lines.Count -eq 0 -or -not $lines[-1].StartsWith(':')) { return }
    $directive = [int]$lines[-1].Substring(1)
    if ($directive -band 1) { return }
    $offers = @($lines | Select-Object -SkipLast 1 | Where-Object { $_ -ne '' })
    if ($offers.Count -eq 0) {
        if (($directive -band 4) -eq 0) {
            Get-ChildItem -Path "$wordToComplete*" -ErrorAction SilentlyContinue | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_.Name, $_.Name, 'ProviderItem', $_.Name)
            }
        }
        return
    }
    foreach ($offer in $offers) {
        $name, $text = $offer -split "` + "`" + `t", 2
        if (-not $name.StartsWith($wordToComplete)) { continue }
        if (-not $text) { $text = $name }
        [System.Management.Automation.CompletionResult]::new($name, $name, 'ParameterValue', $text)
    }
}
`
