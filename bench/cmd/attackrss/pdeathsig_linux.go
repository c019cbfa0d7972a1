package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill the subprocess if this program dies
// without stopping it (killed by a signal it cannot catch).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
