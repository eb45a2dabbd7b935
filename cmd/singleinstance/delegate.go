package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// etcdBuild is the name of the singleinstance command built with etcd
// support.
const etcdBuild = "singleinstance-etcd"

// exitNoEtcdBuild is the exit code when etcd was asked for and
// singleinstance-etcd cannot be found: the locks could not be examined.
const exitNoEtcdBuild = 3

// runEtcdBuild hands the command line to singleinstance-etcd: it replaces
// this process where the system allows (so PIDs, signals and exit codes
// are the other program's own), else it runs it and returns its exit code.
func runEtcdBuild(args []string) int {
	path, err := findEtcdBuild()
	if err != nil {
		fmt.Fprintf(os.Stderr, "singleinstance: etcd needs the %s command, which is not next to this one or on $PATH (%v); "+
			"install it with: go install github.com/singleinstance/singleinstance/cmd/singleinstance/%s@latest\n",
			etcdBuild, err, etcdBuild)
		return exitNoEtcdBuild
	}
	return execOrRun(path, args)
}

// findEtcdBuild looks for singleinstance-etcd next to this executable,
// then on $PATH.
func findEtcdBuild() (string, error) {
	name := etcdBuild
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(next); err == nil && fi.Mode().IsRegular() {
			return next, nil
		}
	}
	path, err := exec.LookPath(etcdBuild)
	if err != nil {
		return "", errors.Unwrap(err)
	}
	return path, nil
}
