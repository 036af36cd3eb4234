package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
)

// findProgram returns the loaded softips_xdp program that uses the blocks
// map pinned at blocksPin: pkg/kernel does not hand its program out, and
// other classifiers may be loaded on the machine at the same time.
func findProgram(blocksPin string) (*ebpf.Program, error) {
	m, err := ebpf.LoadPinnedMap(blocksPin, nil)
	if err != nil {
		return nil, fmt.Errorf("open blocks map: %w", err)
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return nil, fmt.Errorf("blocks map info: %w", err)
	}
	mapID, ok := info.ID()
	if !ok {
		return nil, errors.New("blocks map id unavailable")
	}
	for id := ebpf.ProgramID(0); ; {
		id, err = ebpf.ProgramGetNextID(id)
		if err != nil {
			return nil, fmt.Errorf("no softips_xdp program uses map %d: %w", mapID, err)
		}
		prog, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		if usesMap(prog, mapID) {
			return prog, nil
		}
		prog.Close()
	}
}

func usesMap(prog *ebpf.Program, mapID ebpf.MapID) bool {
	pi, err := prog.Info()
	if err != nil || pi.Name != "softips_xdp" {
		return false
	}
	ids, ok := pi.MapIDs()
	return ok && slices.Contains(ids, mapID)
}

// checkVerdicts runs each frame once more and checks the classifier's own
// "matched" counter: the hit frame must move it, the miss frame must not.
func checkVerdicts(c counterReader, prog *ebpf.Program, hit, miss []byte) error {
	for _, f := range []struct {
		name  string
		frame []byte
		want  uint64
	}{{"miss", miss, 0}, {"hit", hit, 1}} {
		before, err := c.Counters()
		if err != nil {
			return err
		}
		if _, err := prog.Run(&ebpf.RunOptions{Data: f.frame}); err != nil {
			return fmt.Errorf("run %s frame: %w", f.name, err)
		}
		after, err := c.Counters()
		if err != nil {
			return err
		}
		if got := after["matched"] - before["matched"]; got != f.want {
			return fmt.Errorf("%s frame moved matched by %d, want %d", f.name, got, f.want)
		}
	}
	return nil
}

// counterReader is the part of kernel.Classifier checkVerdicts needs.
type counterReader interface {
	Counters() (map[string]uint64, error)
}
