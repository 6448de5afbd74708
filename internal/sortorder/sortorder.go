// Package sortorder is docker's natural order of names (the docker CLI sorts its tables with
// github.com/fvbommel/sortorder): runs of digits compare as numbers, so worker2 comes before
// worker10. The plugin's tables and the visualizer's columns sort with it.
package sortorder

import (
	"cmp"
	"slices"
	"strings"
)

// Compare orders a and b naturally: -1, 0 or +1. Digit runs compare by value (leading zeros
// aside: worker02 and worker2 are equal), other bytes as bytes.
func Compare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// Sort sorts items stably in the natural order of their keys.
func Sort[T any](items []T, key func(T) string) {
	slices.SortStableFunc(items, func(a, b T) int { return Compare(key(a), key(b)) })
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
