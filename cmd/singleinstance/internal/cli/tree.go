package cli

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
)

// treePoll bounds each wait for a process of the tree to exit: one may
// also let go of the lock by closing its descriptors, which no event
// announces.
const treePoll = 250 * time.Millisecond

// awaitTree runs after the command has exited. Processes it started that
// still share the lock keep the name held, and run waits for them: it
// exits only once no process of the guarded tree holds the lock. Signals
// that run would forward go to them now. It reports whether the lock was
// lost meanwhile (they are then stopped). SIGCHLD arrives on childExit.
func (a *app) awaitTree(name string, inst *singleinstance.Instance, fw *forwarder, childExit <-chan os.Signal) (lost bool) {
	pids, err := inst.Tree()
	if err != nil || len(pids) == 0 {
		return false
	}
	a.say("the command exited, but %d process(es) it started still hold '%s' (pid %s); "+
		"waiting for them to exit (\"singleinstance kill %s\" stops them; a process lets go by closing descriptors 3 and 4)",
		len(pids), name, joinPIDs(pids), name)
	fw.toTree(func(sig os.Signal) { inst.SignalTree(sig) })
	for {
		reapOrphans(0)
		select {
		case <-inst.Lost():
			a.say("lock '%s' lost (%v); stopping the processes that still hold it", name, inst.Err())
			inst.SignalTree(terminateSignal)
			awaitAnyExit(pids, lostGrace)
			inst.SignalTree(os.Kill)
			return true
		case <-childExit:
		default:
		}
		if pids, err = inst.Tree(); err != nil || len(pids) == 0 {
			return false
		}
		awaitAnyExit(pids, treePoll)
	}
}

func joinPIDs(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range slices.Clip(pids) {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}
