package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
	"golang.org/x/term"
)

// app holds the global flags, the standard streams and the etcd
// connection of one invocation.
type app struct {
	lockDir string
	json    bool
	verbose bool
	etcd    etcdFlags

	stdin          io.Reader
	stdout, stderr io.Writer
	// closeStderr closes what run made stderr (see writesWithoutSIGPIPE).
	closeStderr func()

	// connectEtcd dials etcd; nil in a build without etcd support.
	connectEtcd etcdflags.Connector
	// backend is the etcd cluster that holds the locks, once connect has
	// dialled it; nil for file locks.
	backend etcdflags.Backend
}

// logger logs warnings (and with -v, debug messages) to stderr, as
// sentences (see say).
func (a *app) logger() *slog.Logger { return a.loggerTo(a.stderr) }

// loggerTo is logger, writing to w.
func (a *app) loggerTo(w io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(newSentenceHandler(w, level))
}

// options turns the global flags into library options. Commands call
// connect first, so that the options reach etcd when it holds the locks.
func (a *app) options() []singleinstance.Option { return a.optionsLoggingTo(a.stderr) }

// optionsLoggingTo is options, with the library's log written to w.
func (a *app) optionsLoggingTo(w io.Writer) []singleinstance.Option {
	return append([]singleinstance.Option{singleinstance.WithLogger(a.loggerTo(w))}, a.lockOptions()...)
}

// chatty reports whether progress messages go to stderr: when it is a
// terminal, or with -v.
func (a *app) chatty() bool {
	if a.verbose {
		return true
	}
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

const exitCodesHelp = `Exit codes:
  0    success; check/status: running
  1    check/status: not running; kill: nothing stopped; wait: timed out;
       run: another instance holds the lock (see --conflict-exit-code)
  2    usage error
       (also invalid etcd settings: a TTL below 2s, bad certificate files)
  3    could not tell or could not act: bad name, lock directory or I/O
       error, holder that cannot be proven or seen from here, etcd
       refusing the credentials
  4    etcd could not be reached or did not answer in time: nothing was
       decided (check and status never say "not running" then)
  run only: the command's own exit code, 128+N if it died of signal N,
  121 if the lock was lost while it ran, 122 if etcd did not confirm the
  release after it ended (the lock stays taken until its lease expires),
  125 if the lock could not be taken, 126 if the command cannot be
  executed, 127 if it was not found.`

// Main runs the singleinstance command line args and returns the exit
// code. connectEtcd dials etcd for --etcd; nil builds the command without
// etcd support.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, connectEtcd etcdflags.Connector) int {
	return mainWith(args, stdin, stdout, stderr, connectEtcd, true)
}

// mainWith is Main, with the fast path of "check" (fastcheck.go) taken
// when fast is true and args allow it; false always builds the
// command tree, as tests do to compare the two.
func mainWith(args []string, stdin io.Reader, stdout, stderr io.Writer, connectEtcd etcdflags.Connector, fast bool) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, connectEtcd: connectEtcd}
	defer a.close()
	if fast {
		if name, ok := a.parseFastCheck(args, os.Getenv); ok {
			return a.exitCode(a.check(name), args, fastCheckCommand)
		}
		if name, argv, ok := a.parseFastRun(args, os.Getenv); ok {
			return a.exitCode(a.run(context.Background(), name, argv, 0, exitNo, false), args, fastRunCommand)
		}
	}
	root := a.rootCommand()
	root.SetOutput(stdout)
	cmd, err := root.Execute(context.Background(), joinOptionalWait(args))
	return a.exitCode(err, args, func() *cmdline.Command { return cmd })
}

// exitCode returns the exit code for err, the outcome of the command line
// args, after printing err to stderr, and for a usage error the usage of
// the command that ran, which command returns.
func (a *app) exitCode(err error, args []string, command func() *cmdline.Command) int {
	if err == nil {
		return exitOK
	}
	stderr := a.stderr
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			printError(stderr, ce.err)
		}
		return ce.code
	}
	var ue *usageError
	var pe *cmdline.UsageError
	if errors.As(err, &ue) || errors.As(err, &pe) {
		cmd := command()
		printError(stderr, err)
		if hint := missingDashHint(cmd, joinOptionalWait(args), err); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		fmt.Fprintf(stderr, "Usage: %s\nRun '%s --help' for details.\n", cmd.UseLine(), cmd.CommandPath())
		return exitUsage
	}
	printError(stderr, err)
	if errors.Is(err, singleinstance.ErrUnavailable) {
		return exitUnavailable
	}
	return exitError
}

// printError prints err on one line starting "singleinstance: ", which the
// library's own errors already do. The etcd backend's, which start
// "singleinstance/etcd: ", start "singleinstance: etcd: " instead.
func printError(w io.Writer, err error) {
	msg := err.Error()
	if sub, ok := strings.CutPrefix(msg, "singleinstance/"); ok {
		msg = sub
	}
	if !strings.HasPrefix(msg, "singleinstance: ") {
		msg = "singleinstance: " + msg
	}
	fmt.Fprintln(w, msg)
}

func (a *app) rootCommand() *cmdline.Command {
	var check, kill, force bool
	root := &cmdline.Command{
		Use:   "singleinstance",
		Short: "Run only one copy of a program, check it, stop it, see who holds it",
		Long: `singleinstance guards a program so that only one copy of it runs on this
machine under a given NAME, using a kernel file lock that dies with its
holder: there is never a stale lock to clean up after a crash.

  singleinstance run NAME -- COMMAND [ARGS...]   run COMMAND under the lock
  singleinstance check NAME                      is NAME running?
  singleinstance status NAME                     who holds NAME, in detail
  singleinstance kill NAME                       stop the holder of NAME
  singleinstance list                            every NAME in the lock directory or etcd
  singleinstance wait NAME                       wait until NAME is free (or held)

The old module's forms still work: "singleinstance NAME --check",
"singleinstance NAME --kill" and "singleinstance NAME --kill --force".

Lock directory: --lock-dir, else $SINGLEINSTANCE_LOCK_DIR, else a directory
private to the user (/run/user/UID/singleinstance on Linux when
/run/user/UID is the user's, else /tmp/singleinstance-UID).
Durations use Go syntax (500ms, 10s, 2m); a bare number means seconds;
forever or -1 means no limit (NaN, Inf and 1e300 are usage errors).

Across hosts: with --etcd ENDPOINTS (else $SINGLEINSTANCE_ETCD_ENDPOINTS) the
locks are kept in that etcd cluster instead, so that one copy runs across
every machine that uses it, and every command works over etcd. The --etcd
flags are listed by "singleinstance help etcd".

--json prints the result as JSON on stdout: check, status and list print
status objects, kill {"name", "stopped", "pids", "signal"}, wait {"name",
"state", "reached", "waited_seconds"}; run prints its conflict report as a
status object on stderr, where the text report would go, as stdout belongs
to COMMAND. Other commands refuse --json.

` + exitCodesHelp,
		UsageFooter: etcdHelpLine,
		Annotations: map[string]string{jsonAnnotation: "yes"},
		BeforeRun: func(cmd *cmdline.Command, args []string) error {
			if a.json && cmd.Annotations[jsonAnnotation] == "" {
				return usagef("--json: %q prints no data; --json works with run, check, status, kill, list, wait and version", cmd.CommandPath())
			}
			return nil
		},
		Run: func(cmd *cmdline.Command, args []string) error {
			if !check && !kill {
				if len(args) == 0 {
					if a.json {
						return usagef("--json: \"singleinstance\" without a command prints no data")
					}
					return cmd.Help()
				}
				return usagef("unknown command %q; run 'singleinstance --help'", args[0])
			}
			if len(args) != 1 {
				return usagef("--check and --kill take exactly one NAME")
			}
			if check && kill {
				return usagef("--check and --kill cannot be used together")
			}
			if err := a.connect(cmd); err != nil {
				return err
			}
			if check {
				return a.check(args[0])
			}
			return a.kill(cmd.Context(), args[0], force, singleinstance.DefaultStopTimeout)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.lockDir, "lock-dir", "", "lock directory (default $SINGLEINSTANCE_LOCK_DIR, else the per-user default)")
	pf.BoolVar(&a.json, "json", false, "print data as JSON")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "say what is happening on stderr")
	a.etcd.register(pf)
	hideEtcdFlags(pf)
	f := root.Flags()
	f.BoolVar(&check, "check", false, "old form: NAME --check is 'check NAME'")
	f.BoolVar(&kill, "kill", false, "old form: NAME --kill is 'kill NAME'")
	f.BoolVar(&force, "force", false, "old form: with --kill, kill with SIGKILL")
	root.AddCommand(a.runCommand(), a.checkCommand(), a.killCommand(), a.statusCommand(),
		a.listCommand(), a.waitCommand())
	a.addVersion(root)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "check", "kill", "status", "list", "wait", "version":
			c.Annotations = map[string]string{jsonAnnotation: "yes"}
		}
		switch c.Name() {
		case "run", "check", "kill", "status", "wait":
			c.Complete = a.completeName
		}
	}
	root.AddCommand(a.etcdTopicCommand())
	root.AddCompletion()
	return root
}

// jsonAnnotation marks the commands that print their result as JSON with
// --json; the others refuse it.
const jsonAnnotation = "singleinstance.json"

// missingDashHint explains an unknown flag of run on a command line
// without "--", met after NAME: it was meant for COMMAND, which needs "--"
// before it. args are the words the tree parsed. The hint shows the command
// line with "--" added after NAME.
func missingDashHint(cmd *cmdline.Command, args []string, err error) string {
	if cmd.Name() != "run" || !strings.HasPrefix(err.Error(), "unknown") || slices.Contains(args, "--") {
		return ""
	}
	positional := 0
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) < 2 || arg[0] != '-' {
			if positional++; positional == 2 && i+1 < len(args) {
				// args[i] is NAME: "run" was the first.
				fixed := append(append(slices.Clip(args[:i+1]), "--"), args[i+1:]...)
				words := make([]string, len(fixed))
				for j, w := range fixed {
					words[j] = shellQuote(w)
				}
				return "singleinstance: a COMMAND with flags needs -- before it: singleinstance " + strings.Join(words, " ")
			}
			continue
		}
		var f *cmdline.Flag
		withValue := false
		if long, ok := strings.CutPrefix(arg, "--"); ok {
			name, _, eq := strings.Cut(long, "=")
			f, withValue = cmd.Lookup(name), eq
		} else {
			f, withValue = cmd.LookupShort(arg[1:2]), len(arg) > 2
		}
		if f == nil {
			return "" // an unknown flag before NAME is run's
		}
		if !withValue && f.Value.Type() != "bool" && f.NoValue == "" {
			i++ // its value
		}
	}
	return ""
}

// nameArg validates the single NAME argument of a command.
func nameArg(cmd *cmdline.Command, args []string) error {
	if len(args) != 1 {
		return usagef("%s takes exactly one NAME, got %d arguments", cmd.Name(), len(args))
	}
	return nil
}

// joinOptionalWait lets run's --wait take an optional value as a separate
// word: before the first "--", "--wait X" becomes "--wait=X" when X is a
// duration or is followed by another word (NAME), and a bare "--wait"
// means "--wait=0s" (do not wait).
func joinOptionalWait(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if arg != "--wait" {
			out = append(out, arg)
			continue
		}
		if i+1 < len(args) && args[i+1] != "--" {
			_, err := parseDuration(args[i+1])
			// Not a duration, but followed by another word before "--":
			// that word is NAME, so this one was meant as the value, and
			// the flag parser reports it as a bad duration.
			meant := i+2 < len(args) && args[i+2] != "--" && !strings.HasPrefix(args[i+2], "-")
			if err == nil || meant {
				out = append(out, "--wait="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, "--wait=0s")
	}
	return out
}
