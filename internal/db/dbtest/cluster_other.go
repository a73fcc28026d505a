//go:build !linux

package dbtest

import (
	"errors"
	"syscall"
)

func dieWithParent(*syscall.SysProcAttr) {}

func childrenOf(int) ([]int, error) {
	return nil, errors.New("listing the server's backends needs Linux's /proc")
}

func alive(int) bool { return false }
