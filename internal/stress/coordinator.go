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
)

func (k roundKind) String() string { return [...]string{"plain", "kill", "tamper"}[k] }

// A plan is what the seed decides about a round.
type plan struct {
	kind   roundKind
	tamper tamperKind
	strike time.Duration // from the winner's "locked" to the kill or the tampering
	work   time.Duration
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

	lastRelease int64 // when the last holder released (Unix ns), or 0
	unrecovered int   // kills not yet followed by an acquisition
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
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("coordinator", os.Getpid())
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
		res: &result{Procs: cfg.procs, Seed: cfg.seed, LockDir: dir, Planned: cfg.rounds},
		log: log,
	}
	err = c.play(ctx)
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

func (c *coordinator) plan() plan {
	u := c.rng.Float64()
	p := plan{
		tamper: tamperKind(c.rng.IntN(int(numTamperKinds))),
		strike: time.Duration(c.rng.Int64N(int64(maxStrike) + 1)),
		work:   minWork + time.Duration(c.rng.Int64N(int64(maxWork-minWork)+1)),
	}
	switch {
	case u < c.cfg.killRate:
		p.kind = killRound
	case u < c.cfg.killRate+c.cfg.tamperRate:
		p.kind = tamperRound
	}
	return p
}

// A roundState is what the coordinator knows during one round.
type roundState struct {
	n           int
	plan        plan
	prevRelease int64          // when the previous round's holder released, or 0
	pending     map[*proc]bool // racers without an outcome yet
	holders     []*proc        // winners alive and not yet released
	entering    map[*proc]bool // holders whose "entered" has not come yet
	releasing   map[*proc]bool // holders told to release that have not yet
	winners     int            // "locked" reports
	killed      *proc          // the winner SIGKILLed, or nil
	killedAt    int64          // when, Unix ns
	tampered    bool           // the files were tampered with
	intruder    *proc          // the tamper round's intruder, or nil
	notes       []string       // for -v
	tookFirst   time.Duration  // the first winner's New
}

func (rs *roundState) busy() bool {
	return len(rs.pending) > 0 || len(rs.entering) > 0 || len(rs.releasing) > 0 ||
		rs.killed != nil && !rs.killed.exited
}

func (rs *roundState) note(format string, args ...any) {
	rs.notes = append(rs.notes, fmt.Sprintf(format, args...))
}

// round plays round n: every worker races; the winner is killed, or its
// files are tampered with and an intruder tries, or nothing; then every
// holder still alive is released.
func (c *coordinator) round(n int) error {
	rs := &roundState{
		n:           n,
		plan:        c.plan(),
		prevRelease: c.lastRelease,
		pending:     make(map[*proc]bool),
		entering:    make(map[*proc]bool),
		releasing:   make(map[*proc]bool),
	}
	c.lastRelease = 0
	racers := slices.Clone(c.pool.live)
	c.rng.Shuffle(len(racers), func(i, j int) { racers[i], racers[j] = racers[j], racers[i] })
	for _, p := range racers {
		rs.pending[p] = true
		if err := p.send(command{kind: cmdRace, round: n, work: rs.plan.work}); err != nil {
			return fmt.Errorf("worker %d: %w", p.pid, err)
		}
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
	case rs.tampered && len(rs.holders) == 1:
		if err := c.intrude(rs); err != nil {
			return err
		}
	}
	for _, p := range rs.holders {
		rs.releasing[p] = true
		if err := p.send(command{kind: cmdRelease, round: n}); err != nil {
			return fmt.Errorf("worker %d: %w", p.pid, err)
		}
	}
	if err := c.collect(rs); err != nil {
		return err
	}
	if rs.killed != nil {
		if err := c.pool.spawn(1); err != nil {
			return fmt.Errorf("replacing worker %d: %w", rs.killed.pid, err)
		}
	}
	fmt.Fprintf(c.log, "round %d %v: New %v; %v\n", n, rs.plan.kind, round(rs.tookFirst), rs.notes)
	return nil
}

// collect handles reports until the round has nothing outstanding.
func (c *coordinator) collect(rs *roundState) error {
	for rs.busy() {
		ev, err := c.pool.next()
		if err != nil {
			return fmt.Errorf("%w: %d racers, %d entering, %d releasing outstanding",
				err, len(rs.pending), len(rs.entering), len(rs.releasing))
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
		if !p.killed {
			return fmt.Errorf("worker %d exited unexpectedly: %v", p.pid, err)
		}
		// Reaped: the kernel has freed everything it held. Journal the kill
		// now, so that no line of p can follow it.
		if _, err := io.WriteString(c.journal, killLine(p.pid, rs.n, rs.killedAt)); err != nil {
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
	c.res.acquires = append(c.res.acquires, r.took)
	rs.winners++
	afterKill := rs.killed != nil && r.at > rs.killedAt
	switch {
	case p == rs.intruder:
		c.res.IntrudersAdmitted++
		rs.note("OVERLAP: intruder %d admitted while %d held", p.pid, rs.holders[0].pid)
	case len(rs.holders) > 0 || rs.killed != nil && !afterKill:
		c.res.SecondWinners++
		rs.note("OVERLAP: worker %d won too", p.pid)
	case afterKill:
		c.res.LateWinners++
		rs.note("worker %d won %v after the kill", p.pid, round(time.Duration(r.at-rs.killedAt)))
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
	if rs.winners == 1 && rs.plan.kind != plainRound {
		if d := rs.plan.strike; d > 0 {
			time.Sleep(d) // the random moment of the strike; it orders nothing
		}
	}
	if rs.winners == 1 && rs.plan.kind == tamperRound {
		k := rs.plan.tamper
		c.res.TamperRounds++
		c.res.TamperByKind[k]++
		rs.tampered = true
		rs.note("%v %v after locked", k, rs.plan.strike)
		if err := tamper(k, c.dir, lockName, c.rng); err != nil {
			c.res.unexpected("round %d: %v: %v", rs.n, k, err)
		}
	}
	if rs.winners == 1 && rs.plan.kind == killRound {
		at, err := p.kill()
		if err != nil {
			return fmt.Errorf("kill worker %d: %w", p.pid, err)
		}
		rs.killed, rs.killedAt = p, at
		c.res.Kills++
		c.unrecovered++
		rs.note("killed %d %v after locked", p.pid, rs.plan.strike)
		return nil
	}
	rs.holders = append(rs.holders, p)
	rs.entering[p] = true
	return nil
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

// intrude runs once every racer of a tamper round has an outcome: one more
// worker tries to take the lock whose files were damaged. It must be
// refused while the holder runs.
func (c *coordinator) intrude(rs *roundState) error {
	holder := rs.holders[0]
	k := rs.plan.tamper
	var idle []*proc
	for _, p := range c.pool.live {
		if p != holder {
			idle = append(idle, p)
		}
	}
	rs.intruder = idle[c.rng.IntN(len(idle))]
	rs.pending[rs.intruder] = true
	c.res.IntrudersSent++
	rs.note("intruder %d", rs.intruder.pid)
	if err := rs.intruder.send(command{kind: cmdRace, round: rs.n}); err != nil {
		return fmt.Errorf("worker %d: %w", rs.intruder.pid, err)
	}
	if err := c.collect(rs); err != nil {
		return err
	}
	running, err := singleinstance.CheckRunning(lockName, c.opts...)
	switch {
	case err != nil:
		c.res.unexpected("round %d: CheckRunning after %v: %v", rs.n, k, err)
	case !running:
		c.res.HolderMissed++
		rs.note("HOLDER MISSED: CheckRunning false after %v while %d holds", k, holder.pid)
	}
	return nil
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
