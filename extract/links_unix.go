//go:build unix

package extract

import (
	"io/fs"
	"syscall"
)

// links returns how many hard links fi's file has, or 0 when unknown.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
