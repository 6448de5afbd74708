package translate

import (
	"fmt"
	"hash/fnv"
	"strconv"
)

// GlobalJobName is the name of a global-job service's Job on a node.
func GlobalJobName(service, node string) string {
	if name := service + "-" + node; len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(node))
	return fmt.Sprintf("%.50s-%s", service, strconv.FormatUint(uint64(h.Sum32()), 36))
}

// LabelSafe cuts v to the 63 characters of a label value.
func LabelSafe(v string) string {
	if len(v) > 63 {
		return v[:63]
	}
	return v
}
