package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/softips/softips/pkg/av"
	"github.com/softips/softips/pkg/detect"
	"github.com/softips/softips/pkg/offline"
)

func replayCmd() *cobra.Command {
	var rules, avFiles []string
	var eve, rstOut, avPolicy string
	var midstream bool
	c := &cobra.Command{
		Use:   "replay FILE",
		Short: "Run the whole pipeline on a pcap/pcapng file and show what softips would do",
		Long: "replay reads a capture (Ethernet, raw IP, Linux cooked SLL/SLL2, BSD\n" +
			"loopback; pcap or pcapng) through decoding, reassembly and the rules, and\n" +
			"prints the alerts, the block signals, the block table they produce and the\n" +
			"RST frames the injector would send. Nothing is sent.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, skipped, err := detect.LoadFiles(detect.DefaultVars(), rules...)
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			for _, s := range skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "rule skipped: %s\n", s.Error())
			}
			probe := netip.MustParseAddrPort("198.51.100.1:1") // any valid pair will do
			if _, err := av.BlockSpec(avPolicy, probe, probe); errors.Is(err,
				av.ErrUnknownPolicy) {
				return fmt.Errorf("replay: --av-policy: %w", err)
			}
			o := offline.Options{Rules: rs, Midstream: midstream, Out: cmd.OutOrStdout(),
				AVPolicy: avPolicy}
			if len(avFiles) > 0 {
				db, skipped, err := av.LoadFiles(avFiles...)
				if err != nil {
					return fmt.Errorf("replay: %w", err)
				}
				for _, s := range skipped {
					fmt.Fprintf(cmd.ErrOrStderr(), "signature skipped: %s\n", s.Error())
				}
				if h, b := db.Len(); h+b == 0 {
					return fmt.Errorf("replay: --av: no usable signatures in %q", avFiles)
				}
				o.AV = db
			}
			if eve != "" {
				w, closeEVE, err := openOut(eve, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				defer closeEVE()
				o.EVE = w
			}
			if rstOut != "" {
				f, err := os.Create(rstOut)
				if err != nil {
					return fmt.Errorf("replay: --rst-out: %w", err)
				}
				defer f.Close()
				o.RSTOut = f
			}
			o.Progress = progress(cmd.ErrOrStderr())
			return offline.Replay(cmd.Context(), args[0], o)
		},
	}
	c.Flags().StringSliceVar(&rules, "rules", nil, "rule files (repeatable)")
	c.Flags().StringSliceVar(&avFiles, "av", nil, "ClamAV-format signature files or "+
		"directories (repeatable)")
	c.Flags().StringVar(&avPolicy, "av-policy", "client-server-port", "fields an antivirus "+
		"block keeps: client-server-port, client or pair")
	c.Flags().StringVar(&eve, "eve", "", "write EVE JSON alerts to this file (- for stdout)")
	c.Flags().StringVar(&rstOut, "rst-out", "", "write the RST frames softips would send "+
		"to this pcap")
	c.Flags().BoolVar(&midstream, "midstream", true, "pick up flows whose handshake is "+
		"not in the capture")
	return c
}

func openOut(path string, stdout io.Writer) (io.Writer, func(), error) {
	if path == "-" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: --eve: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// progress returns a frame counter drawn on stderr when it is a terminal.
func progress(w io.Writer) func(int) {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("frames"), progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish())
	return func(n int) { _ = bar.Set(n) }
}
