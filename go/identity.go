package net

// Node identity: ed25519 keypairs from 32-byte seeds, node ids, signatures.

/*
#include <stdint.h>
#include "net.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Identity is a node's ed25519 keypair. Close releases it (the engine zeroizes
// the seed).
type Identity struct {
	handle *C.net_identity_t
	once   sync.Once
}

func newIdentity(f func(out **C.net_identity_t) C.int32_t) (*Identity, error) {
	var handle *C.net_identity_t
	if err := cCall(func() C.int32_t { return f(&handle) }); err != nil {
		return nil, err
	}
	id := &Identity{handle: handle}
	runtime.SetFinalizer(id, func(id *Identity) { _ = id.Close() })
	return id, nil
}

// IdentityFromSeed returns the identity for a 32-byte seed (ErrInvalidSeed otherwise).
func IdentityFromSeed(seed []byte) (*Identity, error) {
	return newIdentity(func(out **C.net_identity_t) C.int32_t {
		return C.net_identity_from_seed((*C.uint8_t)(unsafe.Pointer(bytesPtr(seed))), C.size_t(len(seed)), out)
	})
}

// GenerateIdentity returns a fresh random identity.
func GenerateIdentity() (*Identity, error) {
	return newIdentity(func(out **C.net_identity_t) C.int32_t { return C.net_identity_generate(out) })
}

func (id *Identity) fixed(n int, f func(out *C.uint8_t) C.int32_t) ([]byte, error) {
	out := make([]byte, n)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := f((*C.uint8_t)(unsafe.Pointer(&out[0]))); rc < 0 {
		return nil, lastError(rc)
	}
	return out, nil
}

// PublicKey returns the 32-byte public key (the entity id).
func (id *Identity) PublicKey() ([]byte, error) {
	return id.fixed(32, func(out *C.uint8_t) C.int32_t { return C.net_identity_public_key(id.handle, out) })
}

// Seed returns the 32-byte secret seed. Never log it.
func (id *Identity) Seed() ([]byte, error) {
	return id.fixed(32, func(out *C.uint8_t) C.int32_t { return C.net_identity_seed(id.handle, out) })
}

// Sign signs msg and returns the 64-byte signature.
func (id *Identity) Sign(msg []byte) ([]byte, error) {
	return id.fixed(64, func(out *C.uint8_t) C.int32_t {
		return C.net_identity_sign(id.handle, (*C.uint8_t)(unsafe.Pointer(bytesPtr(msg))), C.size_t(len(msg)), out)
	})
}

// NodeID returns the 64-bit node id.
func (id *Identity) NodeID() (uint64, error) {
	var out C.uint64_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.net_identity_node_id(id.handle, &out); rc < 0 {
		return 0, lastError(rc)
	}
	return uint64(out), nil
}

// Close releases the identity (idempotent); later calls return ErrInvalidHandle.
func (id *Identity) Close() error {
	id.once.Do(func() {
		C.net_identity_free(id.handle)
		runtime.SetFinalizer(id, nil)
	})
	return nil
}

// Verify checks signature over msg by publicKey: nil, ErrBadSignature or ErrInvalidKey.
func Verify(publicKey, msg, signature []byte) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.net_verify((*C.uint8_t)(unsafe.Pointer(bytesPtr(publicKey))), C.size_t(len(publicKey)),
		(*C.uint8_t)(unsafe.Pointer(bytesPtr(msg))), C.size_t(len(msg)),
		(*C.uint8_t)(unsafe.Pointer(bytesPtr(signature))), C.size_t(len(signature)))
	if rc < 0 {
		return lastError(rc)
	}
	return nil
}

// PublicKeyIDs returns the node id and origin hash of a public key.
func PublicKeyIDs(publicKey []byte) (nodeID uint64, originHash uint32, err error) {
	var n C.uint64_t
	var o C.uint32_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.net_public_key_ids((*C.uint8_t)(unsafe.Pointer(bytesPtr(publicKey))), C.size_t(len(publicKey)), &n, &o); rc < 0 {
		return 0, 0, lastError(rc)
	}
	return uint64(n), uint32(o), nil
}
