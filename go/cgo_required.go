//go:build !cgo

package net

// Net is a Rust engine reached through cgo: build with CGO_ENABLED=1 and a C
// compiler (gcc or clang) on the PATH.
const _ = net_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler
