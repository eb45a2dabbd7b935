//go:build !unix && !windows

package local

func isReadOnly(err error) bool { return false }

func isNoSpace(err error) bool { return false }

func isNotDir(err error) bool { return false }
