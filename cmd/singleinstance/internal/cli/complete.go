package cli

import (
	"context"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// completeTimeout bounds how long completion asks etcd for the names.
const completeTimeout = 2 * time.Second

// completeName offers the lock names for the NAME argument of run, check,
// status, kill and wait: the NAME.lock files of the lock directory
// (--lock-dir, else $SINGLEINSTANCE_LOCK_DIR, else the default), or over
// etcd the names it holds. After NAME, run completes COMMAND as files.
func (a *app) completeName(cmd *cmdline.Command, args []string, toComplete string) ([]string, cmdline.Directive) {
	if len(args) > 0 {
		if cmd.Name() == "run" {
			return nil, cmdline.DirectiveDefault
		}
		return nil, cmdline.DirectiveNoFileComp
	}
	var names []string
	if _, on, err := a.etcd.resolve(cmd.Changed); err == nil && on {
		names = a.etcdNames(cmd)
	} else if err == nil {
		names = a.lockFileNames()
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cmdline.DirectiveNoFileComp
}

// lockFileNames returns the valid names that the lock directory lists
// (singleinstance.List), sorted.
func (a *app) lockFileNames() []string {
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	states, err := singleinstance.List(ctx, a.options()...)
	if err != nil {
		return nil
	}
	var out []string
	for _, st := range states {
		if st.Error == "" {
			out = append(out, st.Name)
		}
	}
	return out
}

// etcdNames returns the names etcd holds, or none if it cannot be asked
// within completeTimeout.
func (a *app) etcdNames(cmd *cmdline.Command) []string {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	cmd.SetContext(ctx)
	if err := a.connect(cmd); err != nil || a.backend == nil {
		return nil
	}
	states, err := singleinstance.List(ctx, a.options()...)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(states))
	for _, st := range states {
		out = append(out, st.Name)
	}
	return out
}
