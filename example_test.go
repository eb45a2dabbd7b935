package singleinstance_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
)

// Every example keeps its lock files in a fresh temporary directory, so
// that running the examples never touches the default per-user directory.
// Real programs usually leave WithLockDir out.

func ExampleNew() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	inst, err := singleinstance.New("trading_bot", singleinstance.WithLockDir(dir))
	if err != nil {
		log.Fatal(err) // errors.Is(err, singleinstance.ErrAlreadyRunning) if another copy runs
	}
	defer inst.Release()

	fmt.Println("holding", filepath.Base(inst.LockPath()))
	fmt.Println("fencing token > 0:", inst.Token() > 0)
	// Output:
	// holding trading_bot.lock
	// fencing token > 0: true
}

func ExampleRun() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	err = singleinstance.Run("trading_bot", func(ctx context.Context) error {
		// ctx is cancelled on SIGINT or SIGTERM, or if the lock is lost.
		running, _ := singleinstance.CheckRunning("trading_bot", opt)
		fmt.Println("inside Run, running:", running)
		return nil
	}, opt)
	fmt.Println("Run returned:", err)

	running, _ := singleinstance.CheckRunning("trading_bot", opt)
	fmt.Println("after Run, running:", running)
	// Output:
	// inside Run, running: true
	// Run returned: <nil>
	// after Run, running: false
}

func ExampleCheckRunning() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	show := func() {
		running, err := singleinstance.CheckRunning("trading_bot", opt)
		switch {
		case err != nil:
			fmt.Println("cannot tell:", err)
		case running:
			fmt.Println("Application 'trading_bot': RUNNING")
		default:
			fmt.Println("Application 'trading_bot': NOT RUNNING")
		}
	}

	show()
	inst, err := singleinstance.New("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	show()
	inst.Release()
	show()
	// Output:
	// Application 'trading_bot': NOT RUNNING
	// Application 'trading_bot': RUNNING
	// Application 'trading_bot': NOT RUNNING
}

func ExampleStatus() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	inst, err := singleinstance.New("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Release()

	st, err := singleinstance.Status("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running:", st.Running)
	fmt.Println("verified:", st.Verified)
	if h := st.Holder; h != nil {
		fmt.Println("holder is this process:", h.PID == os.Getpid())
		fmt.Println("same token:", h.Token == inst.Token())
		fmt.Println("live figures:", st.Visible && st.Process != nil)
	}
	// Output:
	// running: true
	// verified: true
	// holder is this process: true
	// same token: true
	// live figures: true
}

func ExampleKillRunning() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	stopped, err := singleinstance.KillRunning("trading_bot", false, singleinstance.WithLockDir(dir))
	switch {
	case err != nil:
		fmt.Println("Failed to terminate bot:", err)
	case stopped:
		fmt.Println("Bot terminated successfully")
	default:
		fmt.Println("Bot was not running")
	}
	// Output:
	// Bot was not running
}

func ExampleWithTimeout() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	first, err := singleinstance.New("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	defer first.Release()

	// A second New, even in the same process, waits up to the timeout for
	// the first to release the lock, then gives up.
	second, err := singleinstance.New("trading_bot", opt, singleinstance.WithTimeout(100*time.Millisecond))
	if err == nil {
		second.Release()
		log.Fatal("two holders")
	}
	fmt.Println("already running:", errors.Is(err, singleinstance.ErrAlreadyRunning))
	fmt.Println("timed out:", errors.Is(err, context.DeadlineExceeded))
	var conflict *singleinstance.AlreadyRunningError
	if errors.As(err, &conflict) && conflict.Holder != nil {
		fmt.Println("holder is this process:", conflict.Holder.PID == os.Getpid())
	}
	// Output:
	// already running: true
	// timed out: true
	// holder is this process: true
}

func ExampleNewContext() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	first, err := singleinstance.New("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	defer first.Release()

	// Wait without a timeout of its own (WithTimeout(-1)), for as long as
	// the context allows.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	second, err := singleinstance.NewContext(ctx, "trading_bot", opt, singleinstance.WithTimeout(-1))
	if err == nil {
		second.Release()
		log.Fatal("two holders")
	}
	var conflict *singleinstance.AlreadyRunningError
	if errors.As(err, &conflict) {
		fmt.Println("name:", conflict.Name)
		fmt.Println("lock file:", filepath.Base(conflict.LockPath))
		fmt.Println("waited:", conflict.Waited > 0)
		fmt.Println("cause:", conflict.Cause)
	}
	fmt.Println("already running:", errors.Is(err, singleinstance.ErrAlreadyRunning))
	// Output:
	// name: trading_bot
	// lock file: trading_bot.lock
	// waited: true
	// cause: context deadline exceeded
	// already running: true
}

func ExampleAlreadyRunningError_Report() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	first, err := singleinstance.New("trading_bot", opt)
	if err != nil {
		log.Fatal(err)
	}
	defer first.Release()

	_, err = singleinstance.New("trading_bot", opt)
	var conflict *singleinstance.AlreadyRunningError
	if errors.As(err, &conflict) {
		// The full report names the holder's PID, start time, command line
		// and more; print only its stable first line here.
		headline, _, _ := strings.Cut(conflict.Report(), "\n")
		fmt.Println(headline)
		fmt.Println("says how to stop it:", strings.Contains(conflict.Report(), "kill trading_bot"))
	}
	// Output:
	// Another instance of "trading_bot" is already running
	// says how to stop it: true
}

// AcquireOrExit ends the process if the lock is held elsewhere, so this
// example is compiled but not run.
func ExampleAcquireOrExit() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// First thing in main. On conflict it prints the holder's details and
	// exits with status ExitAlreadyRunning; deferred calls do not run then.
	inst := singleinstance.AcquireOrExit("trading_bot", singleinstance.WithLockDir(dir))
	defer inst.Release()

	fmt.Println("running as the only trading_bot")
}

func ExampleInstance_Lost() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	inst, err := singleinstance.New("trading_bot", singleinstance.WithLockDir(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Release()

	jobs := make(chan string, 3)
	jobs <- "fetch prices"
	jobs <- "place orders"
	jobs <- "reconcile"
	close(jobs)
	for {
		select {
		case <-inst.Lost():
			// Someone deleted the lock file and another copy took the
			// new one: stop at once.
			fmt.Println("stopping:", inst.Err())
			return
		case job, ok := <-jobs:
			if !ok {
				fmt.Println("all done; lock held throughout:", inst.Err() == nil)
				return
			}
			fmt.Println("did", job)
		}
	}
	// Output:
	// did fetch prices
	// did place orders
	// did reconcile
	// all done; lock held throughout: true
}
