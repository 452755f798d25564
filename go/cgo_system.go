//go:build netsystem

package net

// With `-tags netsystem`, cgo takes libnet from pkg-config (`net.pc`, as
// `scripts/install --prefix DIR` writes it: set PKG_CONFIG_PATH to
// DIR/lib/pkgconfig) instead of the library bundled in this module. The
// program then links libnet.so if the prefix has it (run it with the
// prefix's lib/ on the loader's path), else libnet.a. To give the flags
// yourself instead, build with `-tags netsystem,netnopkgconfig` and set
// CGO_CFLAGS and CGO_LDFLAGS.

/*
#cgo !netnopkgconfig pkg-config: net
*/
import "C"
