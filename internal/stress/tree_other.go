//go:build !linux

package main

import (
	"errors"
	"fmt"
	"time"
)

// treeSupported is false: elsewhere a newcomer cannot see a holder's tree
// once its lock file is deleted (no name token), and there is no pidfd to
// prove a process's exit. -tree-rate must be 0.
const treeSupported = false

var errNoTrees = fmt.Errorf("tree rounds: %w on this system", errors.ErrUnsupported)

func becomeSubreaper() error { return errNoTrees }

func commandMain() error { return errNoTrees }

func childMain() error { return errNoTrees }

type pidHandle struct{ pid int }

func openPID(pid int) (*pidHandle, error) { return nil, errNoTrees }

func (h *pidHandle) exited(d time.Duration) (bool, error) { return false, errNoTrees }

func (h *pidHandle) tellExit() error { return errNoTrees }

func (h *pidHandle) kill() error { return errNoTrees }

func (h *pidHandle) reap() {}
