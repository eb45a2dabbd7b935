package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/singleinstance/singleinstance"
)

// lockName is the name every worker races for.
const lockName = "stress"

// Bounds of the random parts of a round.
const (
	maxStrike = 2 * time.Millisecond   // from a winner's "locked" to its SIGKILL or the tampering
	minWork   = 500 * time.Microsecond // a winner's busy work inside its critical section
	maxWork   = 3 * time.Millisecond
)

type roundKind int

const (
	plainRound roundKind = iota
	killRound
	tamperRound
	treeRound
)

func (k roundKind) String() string { return [...]string{"plain", "kill", "tamper", "tree"}[k] }

// A childEnd is how a tree round's background child ends.
type childEnd int

const (
	childExits   childEnd = iota // the coordinator tells it to exit (SIGUSR1 through its pidfd)
	childStopped                 // KillRunning (SIGTERM)
	childForced                  // KillRunning with force (SIGKILL)
	numChildEnds
)

func (e childEnd) String() string {
	return [...]string{"exit", "KillRunning", "KillRunning force"}[e]
}

// Bounds of the waits of tree and waiter rounds. They only turn a hung
// process into a fault or an error; they order nothing.
const (
	treeDeadline  = 10 * time.Second // for a process of a tree to exit once it must
	waiterTimeout = 30 * time.Second // a waiter's WithTimeout
	stopTimeout   = 10 * time.Second // KillRunning's WithStopTimeout
)

// A plan is what the seed decides about a round.
type plan struct {
	kind        roundKind
	tamper      tamperKind
	tampers     bool          // tamper and tree rounds: the files are tampered with
	strike      time.Duration // from the winner's "locked" (or its tree's start) to the kill or the tampering
	work        time.Duration
	waiters     int      // waiters queued before the tampering
	wrapperKill bool     // tree rounds: SIGKILL the wrapper after deleting every file
	lockOnly    bool     // such a tree round's child keeps the lock's descriptor, not the name token's
	childEnd    childEnd // tree rounds
}

// A treeState is what the coordinator knows of a tree round's tree.
type treeState struct {
	wrapper     *proc
	cmd, child  *pidHandle
	stays       bool // the command waits to die with its wrapper
	childEnding bool // the child was told to end, or KillRunning was called
}

// A coordinator runs the rounds and counts what happens.
type coordinator struct {
	cfg     config
	rng     *rand.Rand
	dir     string
	journal *os.File
	pool    *pool
	opts    []singleinstance.Option // for its own CheckRunning, Status and New
	res     *result
	log     io.Writer

	lastRelease int64               // when the last holder released (Unix ns), or 0
	unrecovered int                 // kills not yet followed by an acquisition
	orphans     map[*pidHandle]bool // processes of trees not yet proven gone
	// The last call of KillRunning: a worker that dies of a signal the
	// coordinator did not send was signalled by it.
	lastStopAt    int64
	lastStopRound int
}

// run plays a whole stress run. The error is for a run that could not be
// played (a worker crashed or hung); faults of the library are counted in
// the result instead. log receives per-round lines with -v.
func run(ctx context.Context, cfg config, log io.Writer) (*result, error) {
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	work, err := os.MkdirTemp("", "singleinstance-stress-")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(work)
		}
	}()
	dir := cfg.lockDir
	if dir == "" {
		dir = filepath.Join(work, "locks")
	}
	journalPath := filepath.Join(work, "journal")
	j, err := os.OpenFile(journalPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer j.Close()

	verbose := ""
	logger := slog.New(slog.DiscardHandler)
	if cfg.verbose {
		verbose = "1"
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("coordinator", os.Getpid())
	} else {
		log = io.Discard
	}
	pl, err := newPool([]string{
		workerRoleEnv + "=" + workerRole,
		lockDirEnv + "=" + dir,
		lockNameEnv + "=" + lockName,
		journalEnv + "=" + journalPath,
		verboseEnv + "=" + verbose,
	})
	if err != nil {
		return nil, err
	}
	c := &coordinator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.seed, 0x5eed)),
		dir:     dir,
		journal: j,
		pool:    pl,
		opts: []singleinstance.Option{
			singleinstance.WithLockDir(dir),
			singleinstance.WithTimeout(0),
			singleinstance.WithLogger(logger),
			singleinstance.WithLiveStats(false),
		},
		res:     &result{Procs: cfg.procs, Seed: cfg.seed, LockDir: dir, Planned: cfg.rounds},
		log:     log,
		orphans: make(map[*pidHandle]bool),
	}
	if cfg.treeRate > 0 {
		if err := becomeSubreaper(); err != nil {
			return nil, err
		}
	}
	err = c.play(ctx)
	c.killOrphans()
	if serr := pl.shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		keep = true
		return c.res, fmt.Errorf("%w (journal kept: %s)", err, journalPath)
	}
	f, err := os.Open(journalPath)
	if err != nil {
		return c.res, err
	}
	defer f.Close()
	if c.res.Journal, err = checkJournal(f, c.res.Rounds); err != nil {
		return c.res, err
	}
	if !c.res.OK() {
		keep = true
		c.res.JournalKept = journalPath
	}
	return c.res, nil
}

// play starts the workers, plays the rounds, and checks that the lock can
// be taken at the end.
func (c *coordinator) play(ctx context.Context) error {
	if err := c.pool.spawn(c.cfg.procs); err != nil {
		return err
	}
	start := time.Now()
	for n := 1; n <= c.cfg.rounds; n++ {
		if ctx.Err() != nil {
			c.res.StoppedEarly = "interrupted"
			break
		}
		if c.cfg.duration > 0 && time.Since(start) >= c.cfg.duration {
			c.res.StoppedEarly = fmt.Sprintf("-duration %v reached", c.cfg.duration)
			break
		}
		if err := c.round(n); err != nil {
			return fmt.Errorf("round %d: %w", n, err)
		}
		c.res.Rounds = n
	}
	c.res.Wall = time.Since(start)
	return c.finalCheck()
}

// plan draws the same numbers in every round, so that a seed replays.
func (c *coordinator) plan() plan {
	u := c.rng.Float64()
	p := plan{
		tamper:   tamperKind(c.rng.IntN(int(numTamperKinds))),
		strike:   time.Duration(c.rng.Int64N(int64(maxStrike) + 1)),
		work:     minWork + time.Duration(c.rng.Int64N(int64(maxWork-minWork)+1)),
		childEnd: childEnd(c.rng.IntN(int(numChildEnds))),
	}
	uWait, uTamper, uKill := c.rng.Float64(), c.rng.Float64(), c.rng.Float64()
	switch {
	case u < c.cfg.killRate:
		p.kind = killRound
	case u < c.cfg.killRate+c.cfg.tamperRate:
		p.kind = tamperRound
		p.tampers = true
	case u < c.cfg.killRate+c.cfg.tamperRate+c.cfg.treeRate:
		p.kind = treeRound
		p.wrapperKill = uKill < c.cfg.wrapperKillRate
		p.tampers = p.wrapperKill || uTamper < 0.5
		// uTamper decides nothing else when the wrapper is killed.
		p.lockOnly = p.wrapperKill && uTamper < 0.5
	}
	if n := min(c.cfg.waiters, c.cfg.procs-2); n > 0 && uWait < c.cfg.waiterRate &&
		(p.kind == tamperRound || p.kind == treeRound) {
		p.waiters = n
		p.tampers = true
	}
	if p.waiters > 0 || p.wrapperKill {
		p.tamper = deleteAll // as a temporary-file cleaner does
	}
	if p.tampers && p.tamper == garbleInfo {
		// KillRunning refuses to signal anything after the .info file was
		// damaged (by design): the child is told to exit instead.
		p.childEnd = childExits
	}
	return p
}

// A roundState is what the coordinator knows during one round.
type roundState struct {
	n           int
	plan        plan
	prevRelease int64          // when the previous round's holder released, or 0
	pending     map[*proc]bool // racers without an outcome yet
	waiting     map[*proc]bool // waiters without an outcome yet
	queued      map[*proc]bool // waiters New announced as waiting
	waiters     map[*proc]bool // workers told to wait this round
	holders     []*proc        // winners alive and not yet released
	entering    map[*proc]bool // holders whose "entered" has not come yet
	releasing   map[*proc]bool // holders told to release that have not yet
	chain       bool           // release every new holder at once (waiters take turns)
	winners     int            // "locked" reports
	killed      *proc          // the winner SIGKILLed, or nil
	dying       []*proc        // workers SIGKILLed this round, until reaped
	replace     int            // workers to replace at the end of the round
	tree        *treeState     // a tree round's tree, once started
	stopping    bool           // KillRunning was called this round
	stopAt      int64          // just before, Unix ns
	tampered    bool           // the files were tampered with
	intruder    *proc          // the latest intruder, or nil
	notes       []string       // for -v
	tookFirst   time.Duration  // the first winner's New
}

func (rs *roundState) busy() bool {
	if len(rs.pending) > 0 || len(rs.entering) > 0 || len(rs.releasing) > 0 {
		return true
	}
	for _, p := range rs.dying {
		if !p.exited {
			return true
		}
	}
	return false
}

// pinned names a process of an acquisition that cannot have ended yet,
// because it ends only when the coordinator says so: a holder not yet told
// to release, a tree's child not yet told to end, a command that waits to
// die with a wrapper not yet killed. A New that returned while one lives
// is an overlap. It returns "" if there is none.
func (rs *roundState) pinned() string {
	for _, h := range rs.holders {
		if !rs.releasing[h] {
			return fmt.Sprintf("holder %d", h.pid)
		}
	}
	if t := rs.tree; t != nil {
		if !t.childEnding {
			return fmt.Sprintf("tree child %d", t.child.pid)
		}
		if t.stays && !t.wrapper.killed {
			return fmt.Sprintf("command %d", t.cmd.pid)
		}
	}
	return ""
}

func (rs *roundState) note(format string, args ...any) {
	rs.notes = append(rs.notes, fmt.Sprintf(format, args...))
}

// round plays round n: every worker races; the winner is killed, or its
// files are tampered with and an intruder tries, or it runs a tree, or
// nothing; waiters may queue; then every holder still alive is released.
func (c *coordinator) round(n int) error {
	rs := &roundState{
		n:           n,
		plan:        c.plan(),
		prevRelease: c.lastRelease,
		pending:     make(map[*proc]bool),
		waiting:     make(map[*proc]bool),
		queued:      make(map[*proc]bool),
		waiters:     make(map[*proc]bool),
		entering:    make(map[*proc]bool),
		releasing:   make(map[*proc]bool),
	}
	c.lastRelease = 0
	race := command{kind: cmdRace, round: n, work: rs.plan.work}
	if rs.plan.kind == treeRound {
		race.tree = treeExits
		if rs.plan.wrapperKill {
			race.tree = treeStays
			if rs.plan.lockOnly {
				race.tree = treeStaysLockOnly
			}
		}
	}
	racers := slices.Clone(c.pool.live)
	c.rng.Shuffle(len(racers), func(i, j int) { racers[i], racers[j] = racers[j], racers[i] })
	for _, p := range racers {
		rs.pending[p] = true
		c.send(rs, p, race)
	}
	if err := c.collect(rs); err != nil {
		return err
	}
	if rs.winners == 0 {
		c.res.RoundsWithoutWinner++
		rs.note("NO WINNER")
	}
	switch {
	case rs.killed != nil:
		c.checkAfterKill(rs)
	case rs.plan.kind == tamperRound && len(rs.holders) == 1:
		if rs.plan.waiters > 0 {
			if err := c.queueWaiters(rs); err != nil {
				return err
			}
			c.strikeFiles(rs)
		}
		if err := c.intrude(rs); err != nil {
			return err
		}
	case rs.tree != nil:
		if err := c.playTree(rs); err != nil {
			return err
		}
		c.lastRelease = 0 // the wrapper's Release did not free the name; its child's end did
	}
	// Release every holder; waiters then take the lock in turn, each
	// released as soon as it holds.
	rs.chain = true
	for _, p := range rs.holders {
		if !rs.releasing[p] {
			if err := c.release(rs, p); err != nil {
				return err
			}
		}
	}
	if err := c.collectUntil(rs, func() bool { return !rs.busy() && len(rs.waiting) == 0 }); err != nil {
		return err
	}
	if rs.replace > 0 {
		if err := c.pool.spawn(rs.replace); err != nil {
			return fmt.Errorf("replacing %d workers: %w", rs.replace, err)
		}
	}
	fmt.Fprintf(c.log, "round %d %v: New %v; %v\n", n, rs.plan.kind, round(rs.tookFirst), rs.notes)
	return nil
}

func (c *coordinator) release(rs *roundState, p *proc) error {
	rs.releasing[p] = true
	c.send(rs, p, command{kind: cmdRelease, round: rs.n})
	return nil
}

// send sends cmd to p. A worker that cannot be written to has died: its end
// of output is on its way, and handle decides what its death means.
func (c *coordinator) send(rs *roundState, p *proc, cmd command) {
	if err := p.send(cmd); err != nil {
		rs.note("worker %d: %v: %v", p.pid, cmd, err)
	}
}

// collect handles reports until the round has nothing outstanding but
// waiters.
func (c *coordinator) collect(rs *roundState) error {
	return c.collectUntil(rs, func() bool { return !rs.busy() })
}

// collectUntil handles reports until done reports true.
func (c *coordinator) collectUntil(rs *roundState, done func() bool) error {
	for !done() {
		ev, err := c.pool.next()
		if err != nil {
			return fmt.Errorf("%w: %d racers, %d waiters, %d entering, %d releasing outstanding",
				err, len(rs.pending), len(rs.waiting), len(rs.entering), len(rs.releasing))
		}
		if err := c.handle(rs, ev); err != nil {
			return err
		}
	}
	return nil
}

func (c *coordinator) handle(rs *roundState, ev event) error {
	p := ev.p
	if ev.eof {
		err := p.reap()
		c.pool.remove(p)
		killRound := rs.n
		if !p.killed {
			if c.lastStopAt == 0 || p.cmd.ProcessState == nil || p.cmd.ProcessState.ExitCode() != -1 {
				return fmt.Errorf("worker %d exited unexpectedly: %v", p.pid, err)
			}
			// Killed by a signal the coordinator did not send: KillRunning
			// (force) stopped it although it was no process of the tree.
			c.res.InnocentKilled++
			rs.note("INNOCENT KILLED: worker %d died of a signal, KillRunning of round %d the only sender",
				p.pid, c.lastStopRound)
			p.killed, p.killedAt = true, c.lastStopAt
			killRound = c.lastStopRound
			rs.replace++
		}
		delete(rs.pending, p)
		delete(rs.waiting, p)
		delete(rs.entering, p)
		delete(rs.releasing, p)
		rs.holders = slices.DeleteFunc(rs.holders, func(q *proc) bool { return q == p })
		// Reaped: the kernel has freed everything it held. Journal the kill
		// now, so that no line of p can follow it.
		if _, err := io.WriteString(c.journal, killLine(p.pid, killRound, p.killedAt)); err != nil {
			return err
		}
		return nil
	}
	if p.killed {
		return nil // written before it died; its fate is decided
	}
	r, err := parseReport(ev.line)
	if err != nil {
		return fmt.Errorf("worker %d: %w", p.pid, err)
	}
	if r.round != rs.n {
		return fmt.Errorf("worker %d: %q in round %d", p.pid, ev.line, rs.n)
	}
	switch {
	case r.kind == repQueued && rs.waiting[p]:
		rs.queued[p] = true
	case r.kind == repRefused && rs.waiting[p]:
		delete(rs.waiting, p)
		c.res.unexpected("round %d: waiter %d: refused after waiting %v", rs.n, p.pid, waiterTimeout)
	case r.kind == repError && rs.waiting[p]:
		delete(rs.waiting, p)
		c.res.unexpected("round %d: waiter %d: New: %s", rs.n, p.pid, r.text)
	case r.kind == repLocked && rs.waiting[p]:
		delete(rs.waiting, p)
		return c.locked(rs, p, r)
	case r.kind == repRefused && rs.pending[p]:
		delete(rs.pending, p)
		if p == rs.intruder {
			c.res.IntrudersRefused++
			rs.note("refused")
		}
	case r.kind == repError && rs.pending[p]:
		delete(rs.pending, p)
		c.res.unexpected("round %d: worker %d: New: %s", rs.n, p.pid, r.text)
	case r.kind == repLocked && rs.pending[p]:
		delete(rs.pending, p)
		return c.locked(rs, p, r)
	case r.kind == repTree && rs.entering[p] && rs.plan.kind == treeRound && rs.tree == nil:
		return c.treeStarted(rs, p, r)
	case r.kind == repEntered && rs.entering[p]:
		delete(rs.entering, p)
	case r.kind == repReleased && rs.releasing[p]:
		delete(rs.releasing, p)
		rs.holders = slices.DeleteFunc(rs.holders, func(q *proc) bool { return q == p })
		c.lastRelease = max(c.lastRelease, r.at)
		if r.lost {
			c.res.LostSignals++
			rs.note("worker %d: Lost fired", p.pid)
		}
		if r.text != "" {
			c.res.unexpected("round %d: worker %d: Release: %s", rs.n, p.pid, r.text)
		}
	default:
		return fmt.Errorf("worker %d: unexpected %q", p.pid, ev.line)
	}
	return nil
}

// locked handles a "locked" report: a successful New.
func (c *coordinator) locked(rs *roundState, p *proc, r report) error {
	c.res.Acquisitions++
	if !rs.waiters[p] {
		c.res.acquires = append(c.res.acquires, r.took) // a waiter's New measures its wait
	}
	rs.winners++
	afterKill := rs.killed != nil && r.at > rs.killed.killedAt
	if rs.waiters[p] {
		c.res.WaiterWins++
	}
	switch pinned := rs.pinned(); {
	case p == rs.intruder:
		c.res.IntrudersAdmitted++
		rs.note("OVERLAP: intruder %d admitted while %s lived", p.pid, pinned)
	case pinned != "":
		c.res.SecondWinners++
		rs.note("OVERLAP: worker %d won while %s lived", p.pid, pinned)
	case rs.killed != nil && !afterKill:
		c.res.SecondWinners++
		rs.note("OVERLAP: worker %d won before killed %d died", p.pid, rs.killed.pid)
	case afterKill:
		c.res.LateWinners++
		rs.note("worker %d won %v after the kill", p.pid, round(time.Duration(r.at-rs.killed.killedAt)))
	}
	if c.unrecovered > 0 && (rs.killed == nil || afterKill) {
		c.unrecovered--
		c.res.Recoveries++
	}
	if rs.winners == 1 {
		rs.tookFirst = r.took
		if rs.prevRelease > 0 {
			c.res.handoffs = append(c.res.handoffs, time.Duration(r.at-rs.prevRelease))
		}
	}
	// The strike of kill rounds, and of tamper rounds without waiters (with
	// waiters, it comes once they are queued; in tree rounds, once the tree
	// runs).
	strikeNow := rs.winners == 1 && (rs.plan.kind == killRound || rs.plan.kind == tamperRound && rs.plan.waiters == 0)
	if strikeNow && rs.plan.kind == tamperRound {
		c.strikeFiles(rs)
	}
	if strikeNow && rs.plan.kind == killRound {
		if d := rs.plan.strike; d > 0 {
			time.Sleep(d) // the random moment of the strike; it orders nothing
		}
		if err := p.kill(); err != nil {
			return fmt.Errorf("kill worker %d: %w", p.pid, err)
		}
		rs.killed = p
		rs.dying = append(rs.dying, p)
		rs.replace++
		c.res.Kills++
		c.unrecovered++
		rs.note("killed %d %v after locked", p.pid, rs.plan.strike)
		return nil
	}
	rs.holders = append(rs.holders, p)
	rs.entering[p] = true
	if rs.chain {
		return c.release(rs, p)
	}
	return nil
}

// strikeFiles waits the plan's strike delay, then tampers with the files.
func (c *coordinator) strikeFiles(rs *roundState) {
	if d := rs.plan.strike; d > 0 {
		time.Sleep(d) // the random moment of the strike; it orders nothing
	}
	k := rs.plan.tamper
	c.res.TamperRounds++
	c.res.TamperByKind[k]++
	rs.tampered = true
	rs.note("%v %v after locked", k, rs.plan.strike)
	if err := tamper(k, c.dir, lockName, c.rng); err != nil {
		c.res.unexpected("round %d: %v: %v", rs.n, k, err)
	}
}

// idle returns the live workers that neither hold nor wait.
func (c *coordinator) idle(rs *roundState) []*proc {
	var idle []*proc
	for _, p := range c.pool.live {
		if !slices.Contains(rs.holders, p) && !rs.waiting[p] && !rs.pending[p] {
			idle = append(idle, p)
		}
	}
	return idle
}

// queueWaiters tells plan.waiters idle workers to wait for the lock, and
// returns once New has announced, in each, that it waits.
func (c *coordinator) queueWaiters(rs *roundState) error {
	idle := c.idle(rs)
	c.rng.Shuffle(len(idle), func(i, j int) { idle[i], idle[j] = idle[j], idle[i] })
	ws := idle[:min(rs.plan.waiters, len(idle))]
	for _, p := range ws {
		rs.waiting[p] = true
		rs.waiters[p] = true
		c.send(rs, p, command{kind: cmdWait, round: rs.n, timeout: waiterTimeout})
	}
	c.res.WaiterRounds++
	c.res.WaitersQueued += len(ws)
	rs.note("%d waiters", len(ws))
	return c.collectUntil(rs, func() bool {
		for _, p := range ws {
			if rs.waiting[p] && !rs.queued[p] {
				return false
			}
		}
		return true
	})
}

// checkAfterKill runs once the killed winner is reaped and every racer has
// an outcome: nothing may report the dead process as running.
func (c *coordinator) checkAfterKill(rs *roundState) {
	if len(rs.holders) == 0 {
		running, err := singleinstance.CheckRunning(lockName, c.opts...)
		switch {
		case err != nil:
			c.res.unexpected("round %d: CheckRunning after the kill: %v", rs.n, err)
		case running:
			c.res.DeadReported++
			rs.note("DEAD HOLDER REPORTED: CheckRunning true after the kill")
		}
		return
	}
	// A racer won after the kill and holds now: Status must name it.
	st, err := singleinstance.Status(lockName, c.opts...)
	switch {
	case err != nil:
		c.res.unexpected("round %d: Status after the kill: %v", rs.n, err)
	case !st.Running:
		c.res.HolderMissed++
		rs.note("HOLDER MISSED: Status not running while %d holds", rs.holders[0].pid)
	case st.Holder != nil && st.Holder.PID == rs.killed.pid:
		c.res.DeadReported++
		rs.note("DEAD HOLDER REPORTED: Status names killed %d", rs.killed.pid)
	}
}

// intrude runs once every racer has an outcome, while the lock is held
// (by a worker or the processes of a tree) after its files were damaged:
// one more worker tries to take the lock. It must be refused, and
// CheckRunning must report the lock held.
func (c *coordinator) intrude(rs *roundState) error {
	idle := c.idle(rs)
	if len(idle) == 0 {
		return fmt.Errorf("no idle worker to intrude")
	}
	rs.intruder = idle[c.rng.IntN(len(idle))]
	rs.pending[rs.intruder] = true
	c.res.IntrudersSent++
	rs.note("intruder %d", rs.intruder.pid)
	c.send(rs, rs.intruder, command{kind: cmdRace, round: rs.n})
	if err := c.collect(rs); err != nil {
		return err
	}
	what := "tampering"
	if rs.tampered {
		what = rs.plan.tamper.String()
	}
	running, err := singleinstance.CheckRunning(lockName, c.opts...)
	switch {
	case err != nil:
		c.res.unexpected("round %d: CheckRunning after %v: %v", rs.n, what, err)
	case !running:
		c.res.HolderMissed++
		rs.note("HOLDER MISSED: CheckRunning false after %v while %s lived", what, rs.pinned())
	}
	return nil
}

// treeStarted handles a tree winner's "tree" report: its command and the
// command's child run. Neither can have been reaped yet (the command is
// reaped by its wrapper only when told to release; the child does not exit
// until told to), so their PIDs still name them.
func (c *coordinator) treeStarted(rs *roundState, p *proc, r report) error {
	t := &treeState{wrapper: p, stays: rs.plan.wrapperKill}
	var err error
	if t.cmd, err = openPID(r.pid); err != nil {
		return fmt.Errorf("command %d of worker %d: %w", r.pid, p.pid, err)
	}
	c.orphans[t.cmd] = true
	if t.child, err = openPID(r.child); err != nil {
		return fmt.Errorf("child %d of worker %d: %w", r.child, p.pid, err)
	}
	c.orphans[t.child] = true
	rs.tree = t
	c.res.TreeRounds++
	rs.note("tree: command %d, child %d", r.pid, r.child)
	return nil
}

// playTree plays the rest of a tree round once the tree runs: waiters
// queue; the files are tampered with (every file deleted before a wrapper
// kill); the wrapper releases, or is SIGKILLed, and its command must then
// die with it; the child alone must keep the name held against an
// intruder, for CheckRunning and for Status; then it ends, by itself or
// stopped by KillRunning.
func (c *coordinator) playTree(rs *roundState) error {
	t := rs.tree
	if rs.plan.waiters > 0 {
		if err := c.queueWaiters(rs); err != nil {
			return err
		}
	}
	if rs.plan.tampers {
		c.strikeFiles(rs)
	}
	if rs.plan.wrapperKill {
		if err := c.killWrapper(rs); err != nil {
			return err
		}
	} else {
		if rs.tampered {
			if err := c.intrude(rs); err != nil {
				return err
			}
		}
		if err := c.release(rs, t.wrapper); err != nil {
			return err
		}
		if err := c.collect(rs); err != nil {
			return err
		}
		// The wrapper waited for its command before it released.
		if done, err := t.cmd.exited(treeDeadline); err != nil || !done {
			return fmt.Errorf("command %d still runs after its wrapper released: %v", t.cmd.pid, err)
		}
		t.cmd.reap()
		delete(c.orphans, t.cmd)
	}
	// Only the child holds now.
	if err := c.intrude(rs); err != nil {
		return err
	}
	st, err := singleinstance.Status(lockName, c.opts...)
	switch {
	case err != nil:
		c.res.unexpected("round %d: Status while child %d holds: %v", rs.n, t.child.pid, err)
	case !st.Running:
		c.res.HolderMissed++
		rs.note("HOLDER MISSED: Status not running while child %d holds", t.child.pid)
	case !slices.ContainsFunc(st.Holding, func(h singleinstance.HoldingProcess) bool { return h.PID == t.child.pid }):
		c.res.HolderMissed++
		rs.note("HOLDER MISSED: Status.Holding %v lacks child %d", st.Holding, t.child.pid)
	}
	return c.endChild(rs)
}

// killWrapper SIGKILLs a tree's wrapper (after the files were deleted):
// the kernel must kill its command too (parent-death signal), while the
// child holds on.
func (c *coordinator) killWrapper(rs *roundState) error {
	t := rs.tree
	w := t.wrapper
	if err := w.kill(); err != nil {
		return fmt.Errorf("kill wrapper %d: %w", w.pid, err)
	}
	rs.dying = append(rs.dying, w)
	rs.replace++
	c.res.WrapperKills++
	if rs.plan.lockOnly {
		c.res.LockOnlyChildren++
	}
	rs.note("wrapper %d SIGKILLed", w.pid)
	if err := c.collect(rs); err != nil {
		return err
	}
	done, err := t.cmd.exited(treeDeadline)
	if err != nil {
		return fmt.Errorf("command %d: %w", t.cmd.pid, err)
	}
	if !done {
		c.res.CommandsSurvived++
		rs.note("COMMAND SURVIVED: %d runs %v after its wrapper was SIGKILLed", t.cmd.pid, treeDeadline)
		t.cmd.kill()
		if done, err = t.cmd.exited(treeDeadline); err != nil || !done {
			return fmt.Errorf("command %d survives SIGKILL: %v", t.cmd.pid, err)
		}
	} else {
		c.res.CommandsDied++
	}
	t.cmd.reap()
	delete(c.orphans, t.cmd)
	// It died after its wrapper's kill: that is its kill time.
	_, err = io.WriteString(c.journal, killLine(t.cmd.pid, rs.n, w.killedAt))
	return err
}

// endChild ends a tree's child as the plan says, and proves its exit.
func (c *coordinator) endChild(rs *roundState) error {
	t := rs.tree
	e := rs.plan.childEnd
	t.childEnding = true
	c.res.ChildEnds[e]++
	var killAt int64 // when it was sent SIGKILL, if it was
	kill := func() {
		if killAt == 0 {
			killAt = time.Now().UnixNano()
		}
		t.child.kill()
	}
	switch e {
	case childExits:
		if err := t.child.tellExit(); err != nil {
			return fmt.Errorf("child %d: %w", t.child.pid, err)
		}
	default:
		rs.stopping = true
		rs.stopAt = time.Now().UnixNano()
		c.lastStopAt, c.lastStopRound = rs.stopAt, rs.n
		if e == childForced {
			killAt = rs.stopAt
		}
		opts := append(slices.Clone(c.opts), singleinstance.WithStopTimeout(stopTimeout))
		stopped, err := singleinstance.KillRunning(lockName, e == childForced, opts...)
		if err != nil || !stopped {
			c.res.unexpected("round %d: KillRunning(force %v) while child %d holds: %v, %v",
				rs.n, e == childForced, t.child.pid, stopped, err)
			kill()
		}
	}
	done, err := t.child.exited(treeDeadline)
	if err != nil {
		return fmt.Errorf("child %d: %w", t.child.pid, err)
	}
	if !done {
		c.res.ChildrenSurvived++
		rs.note("CHILD SURVIVED: %d runs %v after %v", t.child.pid, treeDeadline, e)
		kill()
		if done, err = t.child.exited(treeDeadline); err != nil || !done {
			return fmt.Errorf("child %d survives SIGKILL: %v", t.child.pid, err)
		}
	}
	t.child.reap()
	delete(c.orphans, t.child)
	rs.note("child ended: %v", e)
	if killAt != 0 {
		// No "-" line from a SIGKILLed child: the coordinator journals its
		// end now that it is proven, with the time of the kill (for
		// KillRunning, the time it was called).
		if _, err := io.WriteString(c.journal, killLine(t.child.pid, rs.n, killAt)); err != nil {
			return err
		}
	}
	return nil
}

// killOrphans kills the processes of trees left running by a run that
// stopped on an error.
func (c *coordinator) killOrphans() {
	for h := range c.orphans {
		h.kill()
		h.exited(treeDeadline)
		h.reap()
	}
	clear(c.orphans)
}

// finalCheck checks, after the last round, that nothing holds the lock and
// that it can be taken at once, which is also the recovery from a kill in
// the last round.
func (c *coordinator) finalCheck() error {
	running, err := singleinstance.CheckRunning(lockName, c.opts...)
	switch {
	case err != nil:
		c.res.unexpected("final CheckRunning: %v", err)
	case running && c.unrecovered > 0:
		c.res.DeadReported++
	case running:
		c.res.unexpected("final CheckRunning: held after every holder released")
	}
	inst, err := singleinstance.New(lockName, c.opts...)
	if err != nil {
		c.res.unexpected("final New: %v", err)
		return nil
	}
	if c.unrecovered > 0 {
		c.unrecovered--
		c.res.Recoveries++
	}
	if err := inst.Release(); err != nil {
		c.res.unexpected("final Release: %v", err)
	}
	return nil
}
