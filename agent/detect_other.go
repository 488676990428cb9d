//go:build !linux

package agent

func totalMemoryMB() (float64, bool) { return 0, false }
func diskMB(string) (float64, bool)  { return 0, false }

func diskSpace(string) (total, free float64, ok bool) { return 0, 0, false }
