//go:build !netsystem

package net

// How cgo finds libnet: the static library and net.h that ship inside this
// module (lib/<os>_<arch>/libnet.a, include/net.h), so `go get` needs no
// Rust toolchain and a built program has no runtime dependency. Build with
// `-tags netsystem` to use a libnet of your own instead (see cgo_system.go).

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo linux,amd64 LDFLAGS: ${SRCDIR}/lib/linux_amd64/libnet.a -lm -ldl -lpthread
*/
import "C"
