//go:build !netsystem && !(linux && amd64)

package net

// This module bundles libnet for linux/amd64 only. On other platforms, build
// libnet yourself (`cargo build --release -p net-ffi` in a clone of Net,
// then `scripts/install --prefix DIR`) and build your program with
// `-tags netsystem` and PKG_CONFIG_PATH=DIR/lib/pkgconfig.
const _ = net_has_no_prebuilt_library_for_this_platform__build_libnet_and_use_tag_netsystem
