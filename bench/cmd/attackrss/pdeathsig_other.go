//go:build !linux

package main

import "os/exec"

// setPdeathsig does nothing outside Linux, where the program cannot read
// /proc anyway.
func setPdeathsig(*exec.Cmd) {}
