//go:build !linux

package nametoken

import (
	"errors"
	"os"
)

func claim(string) (*os.File, error) { return nil, errors.ErrUnsupported }
func bound(string) (bool, error)     { return false, errors.ErrUnsupported }

func boundEach(*os.File, []string) ([]bool, error) { return nil, errors.ErrUnsupported }
func owner(string) (int, uint64, error)            { return 0, 0, errors.ErrUnsupported }
func inode(*os.File) (uint64, error)               { return 0, errors.ErrUnsupported }
