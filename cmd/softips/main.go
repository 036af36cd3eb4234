// Command softips is the passive-mode IPS: the daemon (softips run) and the
// operator's CLI, which talks to a running daemon over its unix socket.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "softips:", err)
		os.Exit(1)
	}
}
