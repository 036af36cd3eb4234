package main

import (
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

const defaultSocket = "/run/softips/softips.sock"

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "softips",
		Short: "Passive-mode IPS: detect on a mirror port, end TCP flows with exact RSTs",
		Long: "softips watches a mirror (SPAN/TAP) port with an XDP classifier, detects\n" +
			"unwanted TCP traffic, and resets it by injecting RSTs from a management\n" +
			"interface. It is never inline: its failure never stops traffic.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	sock := os.Getenv("SOFTIPS_SOCKET")
	if sock == "" {
		sock = defaultSocket
	}
	root.PersistentFlags().String("socket", sock,
		"daemon API socket (env SOFTIPS_SOCKET)")
	root.AddCommand(runCmd(), blockCmd(), signalCmd(), statsCmd(), replayCmd(), rulesCmd())
	root.Version = version()
	return root
}

// socketOf is the --socket path; the unix:// form --listen takes works too.
func socketOf(cmd *cobra.Command) string {
	s, _ := cmd.Flags().GetString("socket")
	return strings.TrimPrefix(s, "unix://")
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v
}
